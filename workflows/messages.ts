import { defineQuery } from '@temporalio/workflow';
import type { AgentState } from './state.js';
import type { CompactionEntry, Counters } from './counters.js';

/** Message contracts, defined once here and imported by the client (which never imports activities). */

export type RunStatus = 'running' | 'awaiting_human' | 'completed' | 'stopped' | 'failed';

export interface Progress {
  status: RunStatus;
  counters: Counters;
  maxTurns: number;
  compactions: CompactionEntry[];
  /** The model's latest text, shortened. */
  lastText: string;
  /** Why the run stopped or failed. */
  reason?: string;
  report?: string;
}

export interface RunResult {
  status: Extract<RunStatus, 'completed' | 'stopped' | 'failed'>;
  report?: string;
  reason?: string;
  counters: Counters;
  compactions: CompactionEntry[];
  state: AgentState;
}

export const progressQuery = defineQuery<Progress>('progress');
export const stateQuery = defineQuery<AgentState>('state');
