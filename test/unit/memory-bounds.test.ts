import { describe, expect, it } from 'vitest';
import { checkResponse, closedEscalation, type Escalation } from '../../common/escalation.js';
import { withIgnoredResponse } from '../../workflows/handlers.js';
import { applyUpdateStateCall, recordToolResult } from '../../workflows/tool-calls.js';
import { call, memoryWith } from './fixtures.js';

const escalation = (overrides: Partial<Escalation> = {}): Escalation => ({
  id: 'esc-1',
  kind: 'tool_approval',
  reason: 'r',
  question: 'q?',
  openedAt: '',
  deadline: '',
  ...overrides,
});
const outcome = { decision: 'deny' as const, message: 'no', by: 'ops', at: '' };

describe('what the carried memory keeps is bounded', () => {
  it('a closed escalation keeps its texts cut and a held input only when small', () => {
    const big = { path: 'a', content: 'x'.repeat(10_000) };
    const held = { ...call('write_file', big), display: 'write_file path="a" content="xxx…"' };
    const closed = closedEscalation(escalation({ question: 'q'.repeat(5_000), heldToolCall: held }), {
      ...outcome,
      message: 'm'.repeat(20_000),
    });
    expect(closed.question).toBe(`${'q'.repeat(300)}…`);
    expect(closed.outcome.message).toBe(`${'m'.repeat(300)}…`);
    expect(closed.heldToolCall).toEqual({ id: held.id, name: 'write_file', input: {} });
    const small = closedEscalation(
      escalation({ heldToolCall: call('write_file', { path: 'a', content: 'b' }) }),
      outcome,
    );
    expect(small.heldToolCall!.input).toEqual({ path: 'a', content: 'b' });
    expect(JSON.stringify(closed).length).toBeLessThan(1_200);
  });

  it('a refused answer is recorded with its reason cut', () => {
    const memory = withIgnoredResponse(memoryWith(), 'r'.repeat(10_000), 'now');
    expect(memory.ignoredResponses[0]!.reason).toHaveLength(301);
  });

  it('an answer too large or too deep is refused before it is parsed', () => {
    const open = escalation();
    const huge = { escalationId: 'esc-1', decision: 'approve', message: 'm'.repeat(70_000) };
    expect(checkResponse(huge, open, new Set(), false)).toEqual({
      ok: false,
      error: 'the answer is larger than 65536 bytes as JSON, the limit',
    });
    let deep: unknown = 'esc-1';
    for (let i = 0; i < 1_000; i++) deep = [deep];
    expect(checkResponse({ escalationId: deep, decision: 'approve' }, open, new Set(), false)).toMatchObject({
      error: 'the answer is nested deeper than 64 levels, the limit',
    });
    expect(checkResponse({ escalationId: 'esc-1', decision: 'approve' }, open, new Set(), false).ok).toBe(true);
  });

  it('the last failure is kept short', () => {
    const c = call('read_file');
    const memory = recordToolResult(memoryWith({ toolCallsToRun: [c] }), c, {
      type: 'tool_result',
      tool_use_id: c.id,
      content: 'e'.repeat(5_000),
      is_error: true,
    });
    expect(memory.lastFailure).toHaveLength(1_001);
  });

  it('an update_state that would pass a state limit is refused whole, the state unchanged', () => {
    const memory = memoryWith();
    const many = call('update_state', { mark_done: Array.from({ length: 500 }, (_, i) => `f${i}`) });
    let m = memory;
    for (let i = 0; i < 4; i++)
      m = applyUpdateStateCall(m, {
        ...many,
        input: { mark_done: Array.from({ length: 500 }, (_, j) => `f${i}-${j}`) },
      }).memory;
    expect(m.state.itemsDone).toHaveLength(2_000);
    const over = applyUpdateStateCall(m, call('update_state', { mark_done: ['one more'], add_decisions: ['d'] }));
    expect(over.memory).toBe(m);
    expect(over.result).toMatchObject({
      is_error: true,
      content: expect.stringMatching(
        /^update_state refused, the state is unchanged: itemsDone would hold 2001 items; the limit is 2000/,
      ),
    });
  });
});
