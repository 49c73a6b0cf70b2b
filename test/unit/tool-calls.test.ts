import { ActivityFailure, RetryState } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { CUT_OFF, textBlock, toolResult } from '../../workflows/blocks.js';
import {
  answerToModel,
  applyFinishCall,
  applyUpdateStateCall,
  recordToolResult,
  toolFailed,
} from '../../workflows/tool-calls.js';
import { call, memoryWith } from './fixtures.js';

describe('booking tool results', () => {
  const [read, write] = [call('read_file', {}, 'toolu_1'), call('write_file', {}, 'toolu_2')];

  it("each result waits for the reply's last call; then all of them become the next user message, counted in order", () => {
    const memory = memoryWith({ toolCallsToRun: [read, write], nextUserMessage: null });
    const first = recordToolResult(memory, read, toolResult(read, 'no such file', true));
    expect(first).toMatchObject({
      toolCallsToRun: [write],
      nextUserMessage: null,
      lastFailure: 'read_file: no such file',
    });
    expect(first.counters.toolCalls).toBe(0);
    const second = recordToolResult(first, write, toolResult(write, 'written'));
    expect(second.nextUserMessage).toEqual([toolResult(read, 'no such file', true), toolResult(write, 'written')]);
    expect(second).toMatchObject({ toolCallsToRun: [], toolResults: [], lastFailure: 'read_file: no such file' });
    // The success after the error ends the run of failures.
    expect(second.counters).toMatchObject({ toolCalls: 2, toolErrors: 1, failuresInRow: 0 });
  });

  it('after a reply cut off at max_tokens, the results carry the cut-off note', () => {
    const memory = memoryWith({ toolCallsToRun: [read], replyStoppedAtMaxTokens: true });
    expect(recordToolResult(memory, read, toolResult(read, 'ok')).nextUserMessage).toEqual([
      toolResult(read, 'ok'),
      textBlock(CUT_OFF),
    ]);
  });
});

describe('the state tools, as pure functions', () => {
  it('update_state applies a valid update and remembers it for the next model call; a bad one is a tool error', () => {
    const update = call('update_state', {
      mark_done: ['a.txt'],
      add_findings: [{ item: 'a.txt', severity: 'high', detail: 'x' }],
    });
    const applied = applyUpdateStateCall(memoryWith(), update);
    expect(applied.memory.state.itemsDone).toEqual(['a.txt']);
    expect(applied.memory.stateUpdates).toHaveLength(1);
    expect(applied.result).toEqual(toolResult(update, 'state updated: 1 items done, 1 findings'));
    const bad = applyUpdateStateCall(memoryWith(), call('update_state', { mark_done: [] }));
    expect(bad.memory.stateUpdates).toEqual([]);
    expect(bad.result).toMatchObject({
      is_error: true,
      content: expect.stringMatching(/^invalid update_state input: .*at least one non-empty field/),
    });
  });

  it("an update the model activity already checked against the agent's lists is applied as checked", () => {
    const checked = {
      ...call('update_state', { add_blockers: [{ file: 'b' }] }),
      stateUpdate: { ok: true as const, update: { lists: { blockers: [{ file: 'b' }] } } },
    };
    expect(applyUpdateStateCall(memoryWith(), checked).memory.state.lists).toEqual({ blockers: [{ file: 'b' }] });
    const refused = { ...checked, stateUpdate: { ok: false as const, error: 'add_blockers.0.file: expected string' } };
    expect(applyUpdateStateCall(memoryWith(), refused).result).toMatchObject({
      is_error: true,
      content: 'invalid update_state input: add_blockers.0.file: expected string',
    });
  });

  it('finish keeps the report; without one it is a tool error', () => {
    expect(applyFinishCall(memoryWith(), call('finish', { report: 'all done' })).memory.report).toBe('all done');
    const bad = applyFinishCall(memoryWith(), call('finish', { report: '' }));
    expect([bad.memory.report, bad.result]).toMatchObject([
      undefined,
      { is_error: true, content: 'invalid finish input: report: report is empty' },
    ]);
  });

  it("escalate_to_human's answer, as the model reads it", () => {
    const ask = call('escalate_to_human');
    const outcome = (decision: 'approve' | 'deny' | 'reply', message?: string) => ({
      decision,
      ...(message ? { message } : {}),
      by: 'ann',
      at: '',
    });
    expect(answerToModel(ask, outcome('approve'))).toEqual(toolResult(ask, 'A person approved.'));
    expect(answerToModel(ask, outcome('approve', 'go'))).toEqual(toolResult(ask, 'A person approved: go'));
    expect(answerToModel(ask, outcome('deny', 'no'))).toEqual(toolResult(ask, 'A person declined: no', true));
    expect(answerToModel(ask, outcome('reply', 'use b'))).toEqual(toolResult(ask, 'A person replied: use b'));
  });
});

describe('a tool activity that failed for good, as the model is told of it', () => {
  const gaveUp = (message: string) =>
    new ActivityFailure(
      'activity failed',
      'runTool',
      '2',
      RetryState.MAXIMUM_ATTEMPTS_REACHED,
      'w',
      new Error(message),
    );

  it('names the tool and the first line of the cause; a side-effecting call may or may not have acted', () => {
    expect(toolFailed(call('write_file', {}), gaveUp('ENOSPC: no space left\n    at writeFile'))).toBe(
      'write_file could not be run (the worker gave up: ENOSPC: no space left): it may or may not have taken effect; ' +
        'check whether it did before calling it again',
    );
  });

  it("never shows the worker's own paths (a store's), though a URL stays whole", () => {
    const err = gaveUp(
      "EROFS: read-only file system, open '/var/lib/longhaul/store/ledger/ab12.tmp' via http://db:5432/x",
    );
    expect(toolFailed(call('write_file', {}), err)).toContain(
      "EROFS: read-only file system, open '<worker path>' via http://db:5432/x",
    );
    expect(toolFailed(call('write_file', {}), err)).not.toContain('/var/lib');
  });

  it('a call that changes nothing simply failed', () => {
    const read = { ...call('read_file', {}), sideEffectFree: true as const };
    expect(toolFailed(read, gaveUp('timed out'))).toBe('read_file could not be run (the worker gave up: timed out)');
  });
});
