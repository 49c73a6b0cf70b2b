import { describe, expect, it } from 'vitest';
import { initialCounters } from '../../common/counters.js';
import { capReached, dueForContinueAsNew, nextStep } from '../../workflows/next-step.js';
import { call, memoryWith, optionsWith } from './fixtures.js';

const options = optionsWith({ continueAsNewEvery: 50, escalation: { maxConsecutiveFailures: 3 } });
const quiet = { continueAsNewSuggested: false };
const refusal = { id: 'esc-1', kind: 'refusal' as const, reason: 'r', question: 'q', openedAt: '', deadline: '' };

describe('nextStep names what the run does next, from its memory alone', () => {
  it('a fresh run starts a turn; a turn whose model call failed calls the model again', () => {
    expect(nextStep(memoryWith(), options, quiet)).toEqual({ kind: 'start-turn' });
    expect(nextStep(memoryWith({ awaitingReply: true }), options, quiet)).toEqual({ kind: 'call-model' });
  });

  it("runs the current reply's tool calls first, in order", () => {
    const calls = [call('read_file'), call('write_file')];
    expect(nextStep(memoryWith({ toolCallsToRun: calls }), options, quiet)).toEqual({
      kind: 'run-tool-call',
      call: calls[0],
    });
  });

  it('under the parallel-tool-calls patch, the reads at the head of the reply run together; a write alone', () => {
    const read = (id: string) => ({ ...call('read_file', {}, id), sideEffectFree: true as const });
    const calls = [read('r1'), read('r2'), call('write_file'), read('r3')];
    const parallel = { parallelToolCalls: true };
    expect(nextStep(memoryWith({ toolCallsToRun: calls }), options, quiet, parallel)).toEqual({
      kind: 'run-tool-calls',
      calls: calls.slice(0, 2),
    });
    expect(nextStep(memoryWith({ toolCallsToRun: calls.slice(2) }), options, quiet, parallel)).toEqual({
      kind: 'run-tool-call',
      call: calls[2],
    });
    // Before the patch, one call at a time.
    expect(nextStep(memoryWith({ toolCallsToRun: calls }), options, quiet, { parallelToolCalls: false })).toEqual({
      kind: 'run-tool-call',
      call: calls[0],
    });
  });

  it('a refusal waits for guidance before any tool call; a run of failures asks a person before everything else', () => {
    const pending = { toolCallsToRun: [call('read_file')] };
    expect(nextStep(memoryWith({ ...pending, openEscalation: refusal }), options, quiet)).toEqual({
      kind: 'await-refusal-guidance',
      escalation: refusal,
    });
    const failing = { ...initialCounters(), failuresInRow: 3 };
    expect(nextStep(memoryWith({ ...pending, openEscalation: refusal, counters: failing }), options, quiet)).toEqual({
      kind: 'ask-about-failures',
    });
    expect(nextStep(memoryWith({ counters: { ...failing, failuresInRow: 2 } }), options, quiet)).toEqual({
      kind: 'start-turn',
    });
  });

  it('continues as new before anything else when due', () => {
    const failing = { ...initialCounters(), failuresInRow: 3 };
    expect(nextStep(memoryWith({ counters: failing }), options, { continueAsNewSuggested: true })).toEqual({
      kind: 'continue-as-new',
    });
  });
});

describe('dueForContinueAsNew', () => {
  const at = (turn: number, compactions = 0) => ({ ...initialCounters(), turn, compactions });

  it('every continueAsNewEvery turns of this run, and after a compaction, but only between turns', () => {
    expect(dueForContinueAsNew(memoryWith({ counters: at(49) }), options, quiet)).toBe(false);
    expect(dueForContinueAsNew(memoryWith({ counters: at(50) }), options, quiet)).toBe(true);
    expect(
      dueForContinueAsNew(
        memoryWith({ counters: at(50), chain: { runNumber: 2, turnsAtStart: 20, compactionsAtStart: 0 } }),
        options,
        quiet,
      ),
    ).toBe(false);
    expect(dueForContinueAsNew(memoryWith({ counters: at(3, 1) }), options, quiet)).toBe(true);
    expect(
      dueForContinueAsNew(
        memoryWith({ counters: at(3, 1), chain: { runNumber: 2, turnsAtStart: 0, compactionsAtStart: 1 } }),
        options,
        quiet,
      ),
    ).toBe(false);
    expect(
      dueForContinueAsNew(memoryWith({ counters: at(50), toolCallsToRun: [call('read_file')] }), options, quiet),
    ).toBe(false);
  });

  it('whenever the server suggests it, even mid-turn; never once the run has its report', () => {
    expect(
      dueForContinueAsNew(memoryWith({ toolCallsToRun: [call('read_file')] }), options, {
        continueAsNewSuggested: true,
      }),
    ).toBe(true);
    expect(
      dueForContinueAsNew(memoryWith({ report: 'done', counters: at(50, 1) }), options, {
        continueAsNewSuggested: true,
      }),
    ).toBe(false);
  });
});

describe('capReached', () => {
  it('the turn cap first, then the token budget (input, output and compaction tokens)', () => {
    const counters = {
      ...initialCounters(),
      turn: 10,
      inputTokens: 900,
      outputTokens: 50,
      compactionInputTokens: 40,
      compactionOutputTokens: 10,
    };
    expect(capReached(memoryWith({ counters, maxTurns: 10, tokenBudget: 1_000 }))).toEqual({
      kind: 'turn_cap',
      text: 'turn cap of 10 reached',
    });
    expect(capReached(memoryWith({ counters, maxTurns: 11, tokenBudget: 1_000 }))).toEqual({
      kind: 'token_budget',
      text: 'token budget of 1000 reached (1000 used)',
    });
    expect(capReached(memoryWith({ counters, maxTurns: 11, tokenBudget: 1_001 }))).toBeNull();
    expect(capReached(memoryWith({ counters, maxTurns: 11, tokenBudget: undefined }))).toBeNull();
  });

  it('then the dollar budget, against the nano-dollars the priced calls cost', () => {
    const counters = { ...initialCounters(), turn: 3, costNanos: 2_500_000_000 };
    expect(capReached(memoryWith({ counters, budgetNanos: 2_500_000_000 }))).toEqual({
      kind: 'cost_budget',
      text: 'cost budget of $2.50 reached ($2.50 spent)',
    });
    expect(capReached(memoryWith({ counters, budgetNanos: 2_500_000_001 }))).toBeNull();
    // A memory carried from before dollar budgets has none.
    expect(capReached(memoryWith({ counters, budgetNanos: undefined }))).toBeNull();
    expect(memoryWith({}, optionsWith({ budgetUsd: 0.25 })).budgetNanos).toBe(250_000_000);
  });
});
