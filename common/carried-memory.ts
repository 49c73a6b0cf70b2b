import type { BlobRef, PendingBlock, ToolCall } from './contracts.js';
import type { CompactionEntry, Counters } from './counters.js';
import type { ClosedEscalation, Escalation, StopRequest } from './escalation.js';
import type { ChildRecord } from './delegation.js';
import type { Progress } from './messages.js';
import type { AgentState, StateUpdate } from './state.js';

/**
 * A run's memory as one run of a chain hands it to the next (continue-as-new's input), and so as
 * Temporal's history records it. The field names are a contract with every recorded run: they do
 * not change (the workflow reads them into its own `RunMemory`, workflows/memory.ts).
 */
export interface CarriedMemory {
  /**
   * The state, or null when it is carried by reference (patch `state-by-reference`): then it is
   * `stateRef`'s as stored plus `stateUpdates`, and the next run reads it back before it starts.
   */
  state: AgentState | null;
  /** The state as the store holds it for the model call, and the updates made since. */
  stateRef: BlobRef | null;
  stateUpdates: StateUpdate[];
  counters: Counters;
  compactions: CompactionEntry[];
  escalations: ClosedEscalation[];
  escalationSeq: number;
  /** The escalation waiting for a person, if any. */
  open: Escalation | null;
  ignoredResponses: Progress['ignoredResponses'];
  /** The caps in force: the options' values plus what people granted. */
  maxTurns: number;
  tokenBudget: number | undefined;
  /** The dollar budget in nano-dollars (common/cost.ts); absent in runs from before it, and without one. */
  budgetNanos?: number | undefined;
  /** The transcript's head in the store, and the system prompt + task once stored. */
  head: BlobRef | null;
  instructionsRef: BlobRef | null;
  /** The next user message. */
  append: PendingBlock[] | null;
  /** A turn is counted and its model call has not succeeded yet. */
  turnOpen: boolean;
  pendingCalls: ToolCall[];
  results: PendingBlock[];
  /** The reply whose tool calls are pending stopped at max_tokens. */
  cutOff: boolean;
  wrappingUp: boolean;
  /**
   * The transcript starts with an on-demand compaction block and the last call's context crossed the
   * compaction trigger: the next call is preceded by an on-demand compaction. Absent: false (runs before it).
   */
  compactOnDemand?: boolean;
  /** What failed last (a tool error or a model call), for the person asked after a run of failures. */
  lastFailure: string;
  report: string | undefined;
  lastText: string;
  chain: Progress['chain'];
  /** A person asked the run to stop (the stopRun update): it ends after the step in flight. Absent: not asked. */
  stopRequest?: StopRequest;
  /** The sub-agents started over the chain, and how many were numbered (childWorkflowId). Absent: none. */
  children?: ChildRecord[];
  childSeq?: number;
}
