import { describe, expect, it } from 'vitest';
import { initialCounters } from '../../common/counters.js';
import { CUT_OFF, NUDGE, textBlock, WRAP_UP } from '../../workflows/blocks.js';
import { applyReply, extendCaps, startTurn } from '../../workflows/turn.js';
import { call, memoryWith, optionsWith, reply } from './fixtures.js';

const atCap = memoryWith({
  counters: { ...initialCounters(), turn: 5 },
  maxTurns: 5,
  nextUserMessage: [textBlock('results')],
});
const onCap = (policy: 'escalate' | 'stop' | 'wrap-up') => optionsWith({ escalation: { onCap: policy } });

describe('startTurn: the caps before a turn', () => {
  it('below every cap the turn is counted and its model call awaited', () => {
    const start = startTurn(memoryWith(), optionsWith());
    expect(start.kind).toBe('open');
    if (start.kind === 'open') expect([start.memory.counters.turn, start.memory.awaitingReply]).toEqual([1, true]);
  });

  it('at a cap: stop ends the run, escalate asks to extend, wrap-up gives one last turn with the wrap-up note', () => {
    expect(startTurn(atCap, onCap('stop'))).toEqual({
      kind: 'end',
      end: { status: 'stopped', reason: 'turn cap of 5 reached' },
    });
    expect(startTurn(atCap, onCap('escalate'))).toEqual({
      kind: 'ask-to-extend',
      cap: { kind: 'turn_cap', text: 'turn cap of 5 reached' },
    });
    const wrap = startTurn(atCap, onCap('wrap-up'));
    expect(wrap.kind).toBe('open');
    if (wrap.kind !== 'open') return;
    expect(wrap.memory.wrappingUp).toBe(true);
    expect(wrap.memory.counters.turn).toBe(6);
    expect(wrap.memory.nextUserMessage).toEqual([textBlock('results'), textBlock(WRAP_UP)]);
  });

  it('a wrap-up turn that ended without finish stops the run, whatever the policy', () => {
    for (const policy of ['escalate', 'stop', 'wrap-up'] as const) {
      expect(
        startTurn({ ...atCap, wrappingUp: true, counters: { ...atCap.counters, turn: 6 } }, onCap(policy)),
      ).toEqual({
        kind: 'end',
        end: { status: 'stopped', reason: 'turn cap of 5 reached; the wrap-up turn ended without finish' },
      });
    }
  });

  it('extend adds the turns and tokens granted; no budget stays no budget', () => {
    const outcome = { decision: 'extend' as const, turns: 7, tokens: 500, by: 'ann', at: '' };
    expect(extendCaps(memoryWith({ maxTurns: 5, tokenBudget: 1_000 }), outcome)).toMatchObject({
      maxTurns: 12,
      tokenBudget: 1_500,
    });
    expect(extendCaps(memoryWith({ maxTurns: 5, tokenBudget: undefined }), outcome).tokenBudget).toBeUndefined();
  });
});

describe('applyReply: what a reply means for the run', () => {
  const options = optionsWith({ maxIdleReplies: 2 });
  const waiting = memoryWith({ awaitingReply: true });

  it('tool calls become the calls to run; max_tokens marks them so the cut-off note follows their results', () => {
    const calls = [call('read_file'), call('finish', { report: 'r' })];
    for (const [stopReason, cut] of [
      ['tool_use', false],
      ['end_turn', false],
      ['stop_sequence', false],
      ['max_tokens', true],
    ] as const) {
      const effect = applyReply(
        { ...waiting, counters: { ...waiting.counters, idleReplies: 1 } },
        reply({ stopReason, toolCalls: calls }),
        options,
      );
      expect(effect.next).toBe('continue');
      expect(effect.memory).toMatchObject({
        awaitingReply: false,
        toolCallsToRun: calls,
        replyStoppedAtMaxTokens: cut,
      });
      expect(effect.memory.counters.idleReplies).toBe(0);
    }
  });

  it('a reply without tool calls is nudged (or told it was cut off), and too many in a row stop the run', () => {
    const first = applyReply(waiting, reply({ stopReason: 'end_turn' }), options);
    expect(first).toMatchObject({ next: 'continue', memory: { nextUserMessage: [textBlock(NUDGE)] } });
    expect(applyReply(waiting, reply({ stopReason: 'max_tokens' }), options).memory.nextUserMessage).toEqual([
      textBlock(CUT_OFF),
    ]);
    const second = applyReply(first.memory, reply({ stopReason: 'end_turn' }), options);
    expect(second).toMatchObject({
      next: 'end',
      end: { status: 'stopped', reason: 'the model replied 2 times in a row without using a tool' },
    });
    expect(second.memory.counters.idleReplies).toBe(2);
  });

  it("a refusal answers the reply's calls as not run and asks for guidance, or stops the run", () => {
    const refused = applyReply(
      waiting,
      reply({ stopReason: 'refusal', toolCalls: [call('read_file', {}, 'toolu_1')] }),
      options,
    );
    expect(refused.next).toBe('ask-about-refusal');
    expect(refused.memory.toolResults).toEqual([
      { type: 'tool_result', tool_use_id: 'toolu_1', content: 'not run: the reply was a refusal', is_error: true },
    ]);
    expect(refused.memory.toolCallsToRun).toEqual([]);
    expect(
      applyReply(waiting, reply({ stopReason: 'refusal' }), optionsWith({ escalation: { onRefusal: 'stop' } })),
    ).toMatchObject({
      next: 'end',
      end: { status: 'stopped', reason: 'the model refused to continue' },
    });
  });

  it('a context still too large after compaction, or a stop reason the loop does not know, fails the run', () => {
    expect(applyReply(waiting, reply({ stopReason: 'model_context_window_exceeded' }), options)).toMatchObject({
      next: 'end',
      end: { status: 'failed' },
    });
    for (const stopReason of ['pause_turn', 'compaction']) {
      expect(applyReply(waiting, reply({ stopReason }), options)).toMatchObject({
        next: 'end',
        end: {
          status: 'failed',
          reason: `the turn was still paused (stop reason "${stopReason}") after 4 continuations`,
        },
      });
    }
    for (const stopReason of ['something_new', null]) {
      expect(applyReply(waiting, reply({ stopReason }), options)).toMatchObject({
        next: 'end',
        end: { status: 'failed', reason: `unexpected stop reason ${JSON.stringify(stopReason)}` },
      });
    }
  });
});
