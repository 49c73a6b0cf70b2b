import type { QueryDefinition, SignalDefinition, UpdateDefinition } from '@temporalio/common';
import type { CarriedMemory } from './carried-memory.js';
import type { BlobRef } from './contracts.js';
import type { RunOptionsInput } from './options.js';
import type { AgentState } from './state.js';
import type { CompactionEntry, Counters } from './counters.js';
import type { ClosedEscalation, Escalation, HumanResponse } from './escalation.js';
import type { ChildRecord, ParentLink } from './delegation.js';

/** Message contracts, defined once here: the workflow handles them, the client and the CLI send them. */

export type RunStatus = 'running' | 'awaiting_human' | 'completed' | 'stopped' | 'failed';

/**
 * What visibility (the LonghaulStatus search attribute and the memo) says of a Temporal run: its
 * RunStatus, or `continued` for a run that handed on to the next of its chain (so a query for live
 * runs never matches it), or `cancelled` for a run that Temporal cancelled.
 */
export type VisibleStatus = RunStatus | 'continued' | 'cancelled';

export interface Progress {
  status: RunStatus;
  counters: Counters;
  /** The caps in force, after any extension a person granted. */
  maxTurns: number;
  tokenBudget?: number;
  /** The dollar budget in force (with what people granted), when the run has one. */
  budgetUsd?: number;
  compactions: CompactionEntry[];
  escalation: Escalation | null;
  escalations: ClosedEscalation[];
  /** Answers that were refused (malformed, unknown or closed escalation), newest last. */
  ignoredResponses: { reason: string; at: string }[];
  /** This run's place in its chain of continued runs; the counters are totals over the chain. */
  chain: { runNumber: number; turnsAtStart: number; compactionsAtStart: number };
  /** The model's latest text, shortened. */
  lastText: string;
  /** Why the run stopped or failed. */
  reason?: string;
  report?: string;
  /**
   * Where the transcript is in the store, for `longhaul export`: the chain's head and the stored
   * system prompt + task; null before the first model call.
   */
  head: BlobRef | null;
  instructionsRef: BlobRef | null;
  /** The run's sub-agents over its chain (common/delegation.ts); absent for a run that started none. */
  children?: ChildRecord[];
  /** The counters plus every child's totals; absent for a run that started no child. */
  totals?: Counters;
}

export interface RunResult {
  status: Extract<RunStatus, 'completed' | 'stopped' | 'failed'>;
  report?: string;
  reason?: string;
  counters: Counters;
  compactions: CompactionEntry[];
  escalations: ClosedEscalation[];
  state: AgentState;
  chain: Progress['chain'];
  /** Where the transcript is, so `longhaul export` can read a closed run without a worker (absent in runs from before). */
  maxTurns?: number;
  head?: BlobRef | null;
  instructionsRef?: BlobRef | null;
  /** As in Progress: the sub-agents, and the totals with theirs. */
  children?: ChildRecord[];
  totals?: Counters;
}

/** The run's memo, readable by the Web UI and `describe()` without a worker. */
export interface RunMemo {
  status: VisibleStatus;
  turn: number;
  maxTurns: number;
  tokensUsed: number;
  /** Dollars spent by the priced calls, and the share of input tokens read from the cache (0 to 1). */
  costUsd?: number;
  cacheReadShare?: number;
  /** Calls without a price (their cost is unknown); absent when every call was priced. */
  unpricedCalls?: number;
  compactions: number;
  /** The open escalation, `kind id: question` (a held call's line, without its approval detail); absent while no one is asked. */
  waitingOnPerson?: string;
  /** The open escalation, for answering without a worker's query (`longhaul pending`, the console); absent while no one is asked. */
  escalation?: MemoEscalation;
  runInChain: number;
  /** The parent's workflow id, for a sub-agent's run. */
  parent?: string;
  /** A parent's sub-agents: how many, how many run now, and their turns and dollars (closed ones). */
  children?: { count: number; running: number; turns: number; costUsd?: number };
}

/** What the memo keeps of an open escalation: enough to list and answer it, never the approval detail (its size). */
export interface MemoEscalation {
  id: string;
  kind: Escalation['kind'];
  /** The question's first line (for a held call: the call's display line). */
  question: string;
  /** The held tool's name, for `tool_approval`. */
  tool?: string;
  openedAt: string;
  deadline: string;
}

// Definitions are plain data (what @temporalio/workflow's defineQuery and friends build); made here
// so that the client and the CLI name them without the workflow package. The casts add only the
// type-level brands, which never exist at run time.
const query = <R>(name: string) => ({ type: 'query', name }) as QueryDefinition<R>;
const signal = <A extends unknown[]>(name: string) => ({ type: 'signal', name }) as SignalDefinition<A>;
const update = <R, A extends unknown[]>(name: string) => ({ type: 'update', name }) as UpdateDefinition<R, A>;

export const progressQuery = query<Progress>('progress');
export const stateQuery = query<AgentState>('state');
export const escalationQuery = query<Escalation | null>('escalation');

/** For the Temporal CLI and Web UI: a bad payload is recorded and ignored, never a failure. */
export const humanResponseSignal = signal<[unknown]>('humanResponse');
/** For the longhaul CLI: the validator refuses a bad answer with its reason, before history. */
export const respondUpdate = update<{ escalationId: string; decision: HumanResponse['decision'] }, [HumanResponse]>(
  'respond',
);

/**
 * Ends a run that is not waiting on a person (a busy run): it stops after the step in flight (a
 * model call or a tool call finishes first), as `stopped`, with the reason `stopped by <by>: <message>`.
 * While a person is asked, it closes the open escalation with decision stop. Refused (validator)
 * once the run is ending.
 */
export const stopRunUpdate = update<{ stopping: true }, [{ by: string; message?: string }]>('stopRun');

/**
 * A parent's stop to its children (workflows can only signal other workflows): read like stopRun's
 * argument; a malformed one is ignored, never a failure.
 */
export const stopSignal = signal<[unknown]>('stop');

/** The workflow's input: the options, and the memory a previous run of the chain handed on. */
export interface AgentRunInput {
  options: RunOptionsInput;
  /** Set by continue-as-new; absent when a run starts. */
  memory?: CarriedMemory;
  /** Set for a sub-agent: who started it (carried by continue-as-new). */
  parent?: ParentLink;
}

/** The workflow type `agentRun`, for typed handles (`client.workflow.start<AgentRunWorkflow>('agentRun', …)`). */
export type AgentRunWorkflow = (input: AgentRunInput) => Promise<RunResult>;
export const AGENT_RUN_WORKFLOW = 'agentRun';
