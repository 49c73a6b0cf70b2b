import type { ToolCall } from '../common/contracts.js';
import { formatUsd } from '../common/cost.js';
import { tokensUsed } from '../common/counters.js';
import { totalsOf } from '../common/delegation.js';
import type { Escalation, EscalationKind } from '../common/escalation.js';
import type { RunOptions } from '../common/options.js';
import { nextCallGroup } from './call-plan.js';
import type { RunMemory } from './memory.js';
import type { RunPatches } from './run.js';

/** What the run does next, named; chosen from the memory alone, so a continued run resumes where its predecessor stood. */
export type Step =
  /** A person asked the run to stop (stopRun): it ends now, after the step that was in flight. */
  | { kind: 'stop' }
  /** Hand everything to a new run of the chain. */
  | { kind: 'continue-as-new' }
  /** A run of failures asks a person before anything else happens. */
  | { kind: 'ask-about-failures' }
  /** A refusal waits for a person's guidance. */
  | { kind: 'await-refusal-guidance'; escalation: Escalation }
  /** The current reply's next tool call, alone; every tool_use gets its tool_result, in order. */
  | { kind: 'run-tool-call'; call: ToolCall }
  /** Several of the reply's next calls that may run at the same time (call-plan.ts); their results are booked in order. */
  | { kind: 'run-tool-calls'; calls: ToolCall[] }
  /** A new turn: caps first, then the model. */
  | { kind: 'start-turn' }
  /** The model call of a turn already counted (its earlier attempt failed). */
  | { kind: 'call-model' };

/** Whether the Temporal server suggests continuing as new (its history grew large). */
export interface ServerHints {
  continueAsNewSuggested: boolean;
}

/** What of the run's patches the choice of step depends on. */
export type StepPatches = Pick<RunPatches, 'parallelToolCalls'>;

export function nextStep(
  memory: RunMemory,
  options: RunOptions,
  hints: ServerHints,
  patches: StepPatches = { parallelToolCalls: false },
): Step {
  if (memory.stopRequest) return { kind: 'stop' };
  if (dueForContinueAsNew(memory, options, hints)) return { kind: 'continue-as-new' };
  if (memory.counters.failuresInRow >= options.escalation.maxConsecutiveFailures) return { kind: 'ask-about-failures' };
  if (memory.openEscalation?.kind === 'refusal')
    return { kind: 'await-refusal-guidance', escalation: memory.openEscalation };
  const call = memory.toolCallsToRun[0];
  if (call && patches.parallelToolCalls) {
    const calls = nextCallGroup(memory.toolCallsToRun, options);
    if (calls.length > 1) return { kind: 'run-tool-calls', calls };
  }
  if (call) return { kind: 'run-tool-call', call };
  return memory.awaitingReply ? { kind: 'call-model' } : { kind: 'start-turn' };
}

/**
 * A finished run never continues. Otherwise: when the server asks, or between turns (no tool call
 * pending) after a compaction (the context is smallest) or every `continueAsNewEvery` turns.
 */
export function dueForContinueAsNew(memory: RunMemory, options: RunOptions, hints: ServerHints): boolean {
  if (memory.report !== undefined) return false;
  if (hints.continueAsNewSuggested) return true;
  const { counters, chain } = memory;
  return (
    memory.toolCallsToRun.length === 0 &&
    (counters.compactions > chain.compactionsAtStart ||
      counters.turn - chain.turnsAtStart >= options.continueAsNewEvery)
  );
}

export interface CapReached {
  kind: Extract<EscalationKind, 'turn_cap' | 'token_budget' | 'cost_budget'>;
  text: string;
}

/**
 * The turn cap, then the token budget, then the dollar budget, as the memory holds them (with what
 * people granted). Tokens and dollars count the run's children too (no children: its own counters).
 */
export function capReached(memory: RunMemory): CapReached | null {
  if (memory.counters.turn >= memory.maxTurns)
    return { kind: 'turn_cap', text: `turn cap of ${memory.maxTurns} reached` };
  const totals = totalsOf(memory.counters, memory.children);
  const used = tokensUsed(totals);
  if (memory.tokenBudget !== undefined && used >= memory.tokenBudget) {
    return { kind: 'token_budget', text: `token budget of ${memory.tokenBudget} reached (${used} used)` };
  }
  const spent = totals.costNanos;
  if (memory.budgetNanos !== undefined && spent >= memory.budgetNanos) {
    return {
      kind: 'cost_budget',
      text: `cost budget of ${formatUsd(memory.budgetNanos)} reached (${formatUsd(spent)} spent)`,
    };
  }
  return null;
}
