import { describe, expect, it } from 'vitest';
import { initialCounters } from '../../common/counters.js';
import { backoffSeconds, bookModelCall, countModelFailure, modelCallInput } from '../../workflows/model-call.js';
import { answeredOutcome, closeEscalation, newEscalation, stoppedBy } from '../../workflows/person.js';
import { call, memoryWith, optionsWith, reply } from './fixtures.js';

describe('asking a person', () => {
  const options = optionsWith({ escalation: { timeoutSeconds: 60 } });

  it('escalations are numbered per run, record the turn they were opened at, and their deadline follows the timeout', () => {
    const held = call('write_file');
    const memory = memoryWith({ escalationSeq: 2 });
    const escalation = newEscalation(
      { ...memory, counters: { ...memory.counters, turn: 7 } },
      options,
      { kind: 'tool_approval', reason: 'r', question: 'q?', heldToolCall: held },
      Date.UTC(2026, 0, 1),
    );
    expect(escalation).toEqual({
      id: 'esc-3',
      kind: 'tool_approval',
      reason: 'r',
      question: 'q?',
      heldToolCall: held,
      openedAt: '2026-01-01T00:00:00.000Z',
      deadline: '2026-01-01T00:01:00.000Z',
      turn: 7,
    });
  });

  it('an answer becomes the outcome; closing keeps the newest 100 and clears the open one', () => {
    const outcome = answeredOutcome({ escalationId: 'esc-1', decision: 'extend', turns: 5 }, 'now');
    expect(outcome).toEqual({ decision: 'extend', turns: 5, by: 'human', at: 'now' });
    const escalation = newEscalation(memoryWith(), options, { kind: 'turn_cap', reason: 'r', question: 'q' }, 0);
    const older = Array.from({ length: 100 }, (_, i) => ({ ...escalation, id: `old-${i}`, outcome }));
    const closed = closeEscalation(memoryWith({ escalations: older, openEscalation: escalation }), escalation, outcome);
    expect(closed.openEscalation).toBeNull();
    expect(closed.escalations).toHaveLength(100);
    expect(closed.escalations.at(-1)).toEqual({ ...escalation, outcome });
  });

  it('the reason a run stopped names who stopped it, or the timeout', () => {
    expect(stoppedBy({ decision: 'stop', by: 'ann', at: '' })).toBe('stopped by ann');
    expect(stoppedBy({ decision: 'stop', message: 'enough', by: 'ann', at: '' })).toBe('stopped by ann: enough');
    expect(stoppedBy({ decision: 'stop', message: 'No person answered within 60 s.', by: 'timeout', at: '' })).toBe(
      'No person answered within 60 s.',
    );
  });
});

describe('the model call', () => {
  it('sends the instructions inline until they are stored, then by reference, with the state by reference plus the updates since', () => {
    const options = optionsWith({ systemPrompt: 'be brief', agent: 'auditor' });
    const first = modelCallInput(memoryWith(), options, 'wf');
    expect(first).toMatchObject({
      workflowId: 'wf',
      turn: 0,
      instructions: { systemPrompt: 'be brief', task: 'audit the files' },
      state: { ref: null, updates: [] },
      head: null,
      agent: 'auditor',
    });
    const later = modelCallInput(
      memoryWith({ instructionsRef: 'sha256:i', stateRef: 'sha256:s', head: 'sha256:h', nextUserMessage: null }),
      optionsWith({ injectState: false }),
      'wf',
    );
    expect(later).toMatchObject({ instructions: { ref: 'sha256:i' }, state: null, head: 'sha256:h', append: null });
    expect(later).not.toHaveProperty('agent');
  });

  it('a reply moves the head, clears the sent message and updates, and books tokens and compactions', () => {
    const memory = memoryWith({
      stateUpdates: [{ mark_done: ['a'] }],
      lastText: 'earlier',
      counters: { ...initialCounters(), turn: 4 },
    });
    const compacted = reply({
      text: '',
      usage: { inputTokens: 900, outputTokens: 20, compaction: { inputTokens: 60_000, outputTokens: 700 } },
      compaction: { summarized: true, summaryChars: 1_234 },
    });
    const booked = bookModelCall(memory, compacted);
    expect(booked).toMatchObject({ head: 'sha256:head', nextUserMessage: null, stateUpdates: [], lastText: 'earlier' });
    expect(booked.counters).toMatchObject({
      modelCalls: 1,
      inputTokens: 900,
      compactionInputTokens: 60_000,
      compactions: 1,
    });
    expect(booked.compactions).toEqual([
      { turn: 4, inputTokensBefore: 60_000, inputTokensAfter: 900, summaryChars: 1_234 },
    ]);
    expect(bookModelCall(memory, reply({ text: 'new words' })).lastText).toBe('new words');
  });

  it('a model call that failed for good waits 5 s more each time, until a person is to be asked', () => {
    const options = optionsWith({ escalation: { maxConsecutiveFailures: 3 } });
    const once = countModelFailure(memoryWith(), 'overloaded');
    expect([once.lastFailure, once.counters.failuresInRow, backoffSeconds(once, options)]).toEqual([
      'model call: overloaded',
      1,
      5,
    ]);
    const twice = countModelFailure(once, 'overloaded');
    expect(backoffSeconds(twice, options)).toBe(10);
    expect(backoffSeconds(countModelFailure(twice, 'overloaded'), options)).toBeNull();
  });
});
