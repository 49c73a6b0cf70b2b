import {
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  makeContinueAsNewFunc,
  patched,
  workflowInfo,
} from '@temporalio/workflow';
import type { ParentLink } from '../common/delegation.js';
import type { HumanResponse } from '../common/escalation.js';
import type { AgentRunWorkflow, RunResult, RunStatus } from '../common/messages.js';
import type { RunOptions, RunOptionsInput } from '../common/options.js';
import { LONGHAUL_ESCALATION, LONGHAUL_STATUS } from '../common/search-attributes.js';
import { childrenAndTotals } from '../common/progress.js';
import { memoryForNextRun, type RunMemory } from './memory.js';
import { memoOf, showStatus } from './visibility.js';

/** One Temporal run of the chain: what every step reads and changes. */
export interface Run {
  readonly options: RunOptions;
  /** The options as resolved when the chain started (agent defaults merged): handed to each next run. */
  readonly resolvedOptions: RunOptionsInput;
  readonly workflowId: string;
  /** The chain's first run id: kept across continue-as-new and reset, new for a new run under a reused workflow id. */
  readonly chainId: string;
  /** Who started this run, for a sub-agent (carried to each next run of its chain). */
  readonly parent: ParentLink | undefined;
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
  /**
   * Visibility says how a Temporal run ended: `continued` before it continues as new (the next run
   * starts with its own live status), `cancelled` when Temporal cancelled it; and the memo holds
   * the open escalation (visibility.ts, agent.ts).
   */
  visibleEnds: boolean;
  /** The calls of a reply that may run at the same time do (tool-calls.ts); before, every call ran alone, in order. */
  parallelToolCalls: boolean;
}

export const runPatches = (): RunPatches => ({
  stateByReference: patched('state-by-reference'),
  toolFailureIsToolError: patched('tool-failure-is-tool-error'),
  compactUnderTrigger: patched('compact-under-trigger'),
  refusedTurnDropped: patched('refused-turn-dropped'),
  unknownModelFailsRun: patched('unknown-model-fails-run'),
  visibleEnds: patched('visible-run-ends'),
  parallelToolCalls: patched('parallel-tool-calls'),
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
  const parent = run.parent ? { parent: run.parent } : {};
  if (!run.patches.visibleEnds)
    return continueAsNew<AgentRunWorkflow>({ options: run.resolvedOptions, memory, ...parent });
  // This run says it handed on, so a query for live runs never matches it; the next run starts
  // with its live status (the server would otherwise copy `continued` to it until its first task).
  showStatus(run, 'continued');
  const open = run.memory.openEscalation;
  const live: RunStatus = open ? 'awaiting_human' : 'running';
  const next = memoOf(run.memory, live, true, run.memory.chain.runNumber + 1, run.parent?.workflowId);
  return makeContinueAsNewFunc<AgentRunWorkflow>({
    memo: { ...workflowInfo().memo, ...next },
    typedSearchAttributes: workflowInfo().typedSearchAttributes.updateCopy([
      { key: LONGHAUL_STATUS, value: live },
      { key: LONGHAUL_ESCALATION, value: open?.kind ?? null },
    ]),
  })({ options: run.resolvedOptions, memory, ...parent });
}

/** The run's result: what it spent and found, and where its transcript is, so `longhaul export` needs no worker. */
export function runResult(memory: RunMemory, end: RunEnd): RunResult {
  // The report and why the run ended first: the Web UI shows the result as JSON, in this order.
  return {
    status: end.status,
    ...(memory.report !== undefined ? { report: memory.report } : {}),
    ...(end.reason ? { reason: end.reason } : {}),
    counters: memory.counters,
    compactions: memory.compactions,
    escalations: memory.escalations,
    chain: memory.chain,
    maxTurns: memory.maxTurns,
    head: memory.head,
    instructionsRef: memory.instructionsRef,
    state: memory.state,
    ...childrenAndTotals(memory),
  };
}
