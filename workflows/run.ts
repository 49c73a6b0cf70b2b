import { allHandlersFinished, condition, continueAsNew, log, patched } from '@temporalio/workflow';
import type { HumanResponse } from '../common/escalation.js';
import type { AgentRunWorkflow, RunResult, RunStatus } from '../common/messages.js';
import type { RunOptions, RunOptionsInput } from '../common/options.js';
import { memoryForNextRun, type RunMemory } from './memory.js';

/** One Temporal run of the chain: what every step reads and changes. */
export interface Run {
  readonly options: RunOptions;
  /** The options as resolved when the chain started (agent defaults merged): handed to each next run. */
  readonly resolvedOptions: RunOptionsInput;
  readonly workflowId: string;
  /** The chain's first run id: kept across continue-as-new and reset, new for a new run under a reused workflow id. */
  readonly chainId: string;
  /** The patches asked when the run started (runPatches). */
  readonly patches: RunPatches;
  /** Carried to the next run of the chain. */
  memory: RunMemory;
  /** Not carried: each run publishes its status again when it starts. */
  status: RunStatus;
  /** Why the run stopped or failed, once it has. */
  reason: string | undefined;
  /** An answer received but not yet acted on: never carried, because the run never continues as new with one. */
  answer: HumanResponse | null;
}

/**
 * Patches asked once, when a run starts, before any activity. A patch asked for the first time
 * later, after a local activity in the same workflow task (a read-only tool), could meet its marker
 * early on replay when a query had split that task, which is nondeterminism
 * (docs/workflow-changes.md).
 */
export interface RunPatches {
  /** The next run is handed the state by reference (memoryForNextRun). */
  stateByReference: boolean;
  /** A tool activity that fails for good is a tool error for the model (tool-calls.ts). */
  toolFailureIsToolError: boolean;
  /** Behind an on-demand block, a call whose context crossed the trigger is followed by an on-demand compaction (model-call.ts). */
  compactUnderTrigger: boolean;
  /** A refused turn is out of the transcript: nothing of it is answered, and the person is told why (turn.ts). */
  refusedTurnDropped: boolean;
  /** A model the API does not know fails the run at its first call (steps.ts). */
  unknownModelFailsRun: boolean;
}

export const runPatches = (): RunPatches => ({
  stateByReference: patched('state-by-reference'),
  toolFailureIsToolError: patched('tool-failure-is-tool-error'),
  compactUnderTrigger: patched('compact-under-trigger'),
  refusedTurnDropped: patched('refused-turn-dropped'),
  unknownModelFailsRun: patched('unknown-model-fails-run'),
});

/** How a run ends: its status and, unless it completed, why. */
export interface RunEnd {
  status: RunResult['status'];
  reason?: string;
}

/** Hands everything to a new run of this workflow once every message handler is done. */
export async function continueAsNextRun(run: Run): Promise<never> {
  await condition(allHandlersFinished);
  log.info('continuing as new', { turn: run.memory.counters.turn, run: run.memory.chain.runNumber });
  const memory = memoryForNextRun(run.memory, run.patches.stateByReference);
  return continueAsNew<AgentRunWorkflow>({ options: run.resolvedOptions, memory });
}

/** The run's result: what it spent and found, and where its transcript is, so `longhaul export` needs no worker. */
export function runResult(memory: RunMemory, end: RunEnd): RunResult {
  return {
    status: end.status,
    counters: memory.counters,
    compactions: memory.compactions,
    escalations: memory.escalations,
    state: memory.state,
    chain: memory.chain,
    maxTurns: memory.maxTurns,
    head: memory.head,
    instructionsRef: memory.instructionsRef,
    ...(memory.report !== undefined ? { report: memory.report } : {}),
    ...(end.reason ? { reason: end.reason } : {}),
  };
}
