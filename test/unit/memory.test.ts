import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { withCounterDefaults } from '../../common/counters.js';
import type { AgentRunInput } from '../../common/messages.js';
import { fromCarried, memoryForNextRun, toCarried, type CarriedWithState } from '../../workflows/memory.js';
import { call, memoryWith, optionsWith } from './fixtures.js';

/** The memory a recorded continue-as-new handed on, as its history holds it. */
async function recordedMemory(file: string) {
  const history = JSON.parse(await readFile(new URL(`../histories/${file}`, import.meta.url), 'utf8'));
  const payload = history.events[0].workflowExecutionStartedEventAttributes.input.payloads[0];
  return (JSON.parse(Buffer.from(payload.data, 'base64').toString('utf8')) as AgentRunInput).memory!;
}

describe("the run's memory and the shape recorded runs carry", () => {
  it.each(['compaction-2.json', 'continue-as-new-2.json'])(
    'the memory %s was started with reads and writes back unchanged, counters added since at 0',
    async (file) => {
      const carried = await recordedMemory(file);
      expect(Object.keys(carried)).toContain('pendingCalls');
      const memory = fromCarried(carried as CarriedWithState);
      expect(memory.toolCallsToRun).toEqual(carried.pendingCalls);
      expect(memory.openEscalation).toEqual(carried.open);
      // Counters added after the recording (cache tokens, cost) carry on from 0; nothing else changes.
      expect(toCarried(memory)).toEqual({ ...carried, counters: withCounterDefaults(carried.counters) });
    },
  );

  it('the next run of the chain starts where this one stands, one run further on', () => {
    const pending = [call('read_file')];
    const memory = memoryWith(
      {
        toolCallsToRun: pending,
        awaitingReply: true,
        counters: { ...memoryWith().counters, turn: 42, compactions: 3 },
      },
      optionsWith(),
    );
    const next = memoryForNextRun(memory);
    expect(next.chain).toEqual({ runNumber: 2, turnsAtStart: 42, compactionsAtStart: 3 });
    expect(next).toMatchObject({ pendingCalls: pending, turnOpen: true });
    expect(fromCarried(next as CarriedWithState)).toEqual({ ...memory, chain: next.chain });
  });

  it("by reference, the state stays out of the next run's input when the store holds it, and only then", () => {
    const state = { itemsDone: ['a'], findings: [], decisions: [], errors: [] };
    const stored = memoryWith({ state, stateRef: 'sha256:s', stateUpdates: [{ mark_done: ['a'] }] });
    expect(memoryForNextRun(stored, true)).toMatchObject({
      state: null,
      stateRef: 'sha256:s',
      stateUpdates: [{ mark_done: ['a'] }],
    });
    expect(memoryForNextRun(stored).state).toEqual(state);
    expect(memoryForNextRun(memoryWith({ state, stateRef: null }), true).state).toEqual(state);
  });
});
