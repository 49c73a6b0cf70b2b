import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { BlobRef } from '../store/blob-store.js';
import type { AgentState } from './state.js';
import type { CompactionEntry, Counters } from './counters.js';
import type { ClosedEscalation, Escalation, HumanResponse } from './escalation.js';

/** Message contracts, defined once here and imported by the client (which never imports activities). */

export type RunStatus = 'running' | 'awaiting_human' | 'completed' | 'stopped' | 'failed';

export interface Progress {
  status: RunStatus;
  counters: Counters;
  /** The caps in force, after any extension a person granted. */
  maxTurns: number;
  tokenBudget?: number;
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
}

/** The run's memo, readable by the Web UI and `describe()` without a worker. */
export interface RunMemo {
  status: RunStatus;
  turn: number;
  maxTurns: number;
  tokensUsed: number;
  compactions: number;
  /** The open escalation, `kind id: question`; absent while no one is asked. */
  waitingOnPerson?: string;
  runInChain: number;
}

export const progressQuery = defineQuery<Progress>('progress');
export const stateQuery = defineQuery<AgentState>('state');
export const escalationQuery = defineQuery<Escalation | null>('escalation');

/** For the Temporal CLI and Web UI: a bad payload is recorded and ignored, never a failure. */
export const humanResponseSignal = defineSignal<[unknown]>('humanResponse');
/** For the longhaul CLI: the validator refuses a bad answer with its reason, before history. */
export const respondUpdate = defineUpdate<{ escalationId: string; decision: HumanResponse['decision'] }, [HumanResponse]>('respond');
