import { describe, expect, it } from 'vitest';
import type { ToolCall } from '../../common/contracts.js';
import { heldPlace, isConcurrentSafe, nextCallGroup } from '../../workflows/call-plan.js';
import { call, optionsWith } from './fixtures.js';

const read = (id: string): ToolCall => ({ ...call('read_file', { path: id }, id), sideEffectFree: true });
const write = (id: string): ToolCall => call('write_file', { path: id, content: 'x' }, id);
const options = optionsWith({ toolPolicies: { write_file: 'allow' } });
const delegating = optionsWith({ delegation: { agents: ['auditor'] } });

describe('isConcurrentSafe: which calls may run at the same time as their neighbours', () => {
  it('a read, a call whose tool says so, a delegate call in a run with delegation', () => {
    expect(isConcurrentSafe(read('a'), options)).toBe(true);
    expect(isConcurrentSafe({ ...write('a'), concurrent: true }, options)).toBe(true);
    expect(isConcurrentSafe(call('delegate'), delegating)).toBe(true);
  });

  it('never a write, a delegate call without delegation, a state tool, a refused call or a held call', () => {
    expect(isConcurrentSafe(write('a'), options)).toBe(false);
    expect(isConcurrentSafe(call('delegate'), options)).toBe(false);
    expect(isConcurrentSafe({ ...call('update_state'), sideEffectFree: true }, options)).toBe(false);
    expect(isConcurrentSafe({ ...read('a'), inputError: 'too deep' }, options)).toBe(false);
    const approving = optionsWith({ toolPolicies: { read_file: 'approve' } });
    expect(isConcurrentSafe(read('a'), approving)).toBe(false);
    // Its tool said this call needs no person: it is not held.
    expect(isConcurrentSafe({ ...read('a'), needsApproval: false }, approving)).toBe(true);
    // write_file is held by default, even when its tool says its calls may run together.
    expect(isConcurrentSafe({ ...write('a'), concurrent: true }, optionsWith())).toBe(false);
  });
});

describe('nextCallGroup: the longest run of concurrent-safe calls at the head, or the head alone', () => {
  it('reads before a write run together; the write alone; the reads after it next', () => {
    const calls = [read('r1'), read('r2'), write('w'), read('r3'), read('r4')];
    expect(nextCallGroup(calls, options).map((c) => c.id)).toEqual(['r1', 'r2']);
    expect(nextCallGroup(calls.slice(2), options).map((c) => c.id)).toEqual(['w']);
    expect(nextCallGroup(calls.slice(3), options).map((c) => c.id)).toEqual(['r3', 'r4']);
  });

  it('a finish after reads runs alone, after them; a single call is its own group', () => {
    const calls = [read('r1'), read('r2'), call('finish', { report: 'r' }, 'f')];
    expect(nextCallGroup(calls, options).map((c) => c.id)).toEqual(['r1', 'r2']);
    expect(nextCallGroup(calls.slice(2), options).map((c) => c.id)).toEqual(['f']);
    expect(nextCallGroup([read('r')], options).map((c) => c.id)).toEqual(['r']);
    expect(nextCallGroup([], options)).toEqual([]);
  });
});

describe("heldPlace: which of the reply's held calls is asked about", () => {
  const held = optionsWith();
  const asked = (id: string) => ({ kind: 'tool_approval' as const, heldToolCall: write(id) });
  const result = (id: string) => ({ type: 'tool_result' as const, tool_use_id: id, content: 'ok' });

  it('counts the held calls that ran (their escalations) and those to come', () => {
    const toCome = [write('w1'), read('r'), write('w2'), write('w3')];
    expect(heldPlace(toCome, [], [], held)).toEqual({ index: 1, total: 3 });
    // w1 was asked about; an older escalation of another reply's call does not count.
    const escalations = [asked('old'), asked('w1')];
    expect(heldPlace(toCome.slice(2), [result('w1'), result('r')], escalations, held)).toEqual({ index: 2, total: 3 });
    expect(heldPlace([read('r')], [], [], held)).toEqual({ index: 1, total: 0 });
  });
});
