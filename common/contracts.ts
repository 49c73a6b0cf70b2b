/**
 * What passes between the workflow and its activities: each activity's input and result, and the
 * interface the worker's activities implement. Plain data, so that it is what Temporal's history
 * records; the workflow imports only these types, never the activities themselves.
 */
import type { Admission } from './admission.js';
import type { Escalation } from './escalation.js';
import type { AgentDefaults, RunOptions, RunOptionsInput } from './options.js';
import type { AgentState, StateUpdate } from './state.js';

/** A content-addressed reference: `sha256:<hex>` of the stored text. */
export type BlobRef = `sha256:${string}`;

/** A block of the next user message, as the workflow holds it: small values inline, the rest by reference. */
export type PendingBlock =
  | { type: 'text'; text: string }
  | { type: 'tool_result'; tool_use_id: string; content: string; is_error?: boolean }
  | { type: 'tool_result'; tool_use_id: string; contentRef: BlobRef; is_error?: boolean };

export interface ModelCallInput {
  workflowId: string;
  turn: number;
  model: string;
  maxOutputTokens: number;
  /** The system prompt and task: inline on the first call, then by the reference that call returned. */
  instructions: { ref: BlobRef } | { systemPrompt: string; task: string };
  /**
   * The state to render, as the last call stored it plus the updates since: so each call's input
   * grows with what changed in the turn, not with the state. Null when state injection is off.
   */
  state: { ref: BlobRef | null; updates: StateUpdate[] } | null;
  compaction: RunOptions['compaction'];
  head: BlobRef | null;
  /** The user message to add before calling; null continues the assistant message at the head. */
  append: PendingBlock[] | null;
  /** The run's agent profile, whose tools the model is offered; absent: the built-in tools. */
  agent?: string;
  /** RunOptions.promptCache; absent (calls scheduled before it existed): 'on'. */
  promptCache?: RunOptions['promptCache'];
  /**
   * The run's workspace, for the tools' needsApproval and approvalDetail (resolved again through
   * the worker's roots), and the tools whose policy in the run is 'approve': only their calls are
   * decided (ToolCall.needsApproval, approvalDetail). Absent in calls scheduled before them: no
   * call is decided.
   */
  workspace?: string;
  approveTools?: string[];
  /** The run may delegate (RunOptions.delegation): the delegate tool is offered, naming these agents. */
  delegation?: { agents: string[] };
}

export interface ToolCall {
  id: string;
  name: string;
  /** The input, or `{}` when it is stored (`inputRef`) or was refused (`inputError`). */
  input: unknown;
  /** The line a person reads (common/call-display.ts): absent in runs recorded before it. */
  display?: string;
  /** A large input, in the store: runTool reads it back (common/input-bounds.ts: INLINE_INPUT_BYTES). */
  inputRef?: BlobRef;
  /** The call is not run: the model is told this as a tool error (an input nested too deep, too many calls). */
  inputError?: string;
  /**
   * The call changes nothing (its tool has `sideEffectFree: true`, or no tool has its name and
   * the call only earns an error): it runs as a local activity, inside the workflow task that
   * follows the model call, which saves two server round trips a turn.
   */
  sideEffectFree?: true;
  /** Its tool declares that calls of one reply may run at the same time though they act (ToolDefinition.concurrent). */
  concurrent?: true;
  /**
   * update_state of an agent with its own state lists, checked by the model activity, where the
   * agents' schemas are; the workflow applies the update as checked. Absent for runs without such an agent.
   */
  stateUpdate?: { ok: true; update: StateUpdate } | { ok: false; error: string };
  /**
   * The worker decided the call needs no person (its tool's needsApproval said false): under
   * policy 'approve' it runs without asking. Absent: a call under 'approve' is held.
   */
  needsApproval?: false;
  /** What the person asked about a held call is shown below its line (an edit's diff, a command and its directory). */
  approvalDetail?: string;
}

/**
 * The failure type of a model call the API answered 404 `not_found_error`: it does not know the
 * run's model (or this key may not use it). No retry and no person can change a run's model, so the
 * run fails at its first call (workflows/steps.ts).
 */
export const UNKNOWN_MODEL_ERROR = 'ModelUnknown';

/** The result of one model call (one request to the Messages API). */
export interface ModelCallResult {
  head: BlobRef;
  instructionsRef: BlobRef;
  /** The rendered state as stored, when state injection is on. */
  stateRef: BlobRef | null;
  stopReason: string | null;
  /**
   * Tokens of the answering iteration; `compaction` holds the summarizer's, billed separately.
   * `inputTokens` is the uncached rest of the input; the cache fields (absent: 0, and absent in
   * results recorded before they were read) are `cache_creation_input_tokens` (of which
   * `cacheWrite1hTokens` at the 1-hour TTL) and `cache_read_input_tokens`.
   */
  usage: {
    inputTokens: number;
    outputTokens: number;
    cacheWriteTokens?: number;
    cacheWrite1hTokens?: number;
    cacheReadTokens?: number;
    compaction?: { inputTokens: number; outputTokens: number; cacheWriteTokens?: number; cacheReadTokens?: number };
  };
  /**
   * What the call cost in nano-dollars (common/cost.ts), priced by the worker, which holds the price
   * table and its overrides; absent when the model has no price, and in results recorded before.
   */
  costNanos?: number;
  /**
   * Present when the reply carried a compaction block; `summarized` is false for a failed (null)
   * one. `tokensAfter` is measured for on-demand compaction, where no answer follows the block.
   */
  compaction: { summarized: boolean; summaryChars: number; tokensAfter?: number } | null;
  text: string;
  toolCalls: ToolCall[];
  /**
   * The transcript this call answered starts with an on-demand compaction block, so the API
   * compacts nothing itself (the threshold edit cannot be sent). Absent in results recorded before it.
   */
  onDemand?: true;
  /** Why the model refused (`stop_details` of a `refusal`), when the API said. */
  refusal?: RefusalDetails;
}

/** A refusal's `stop_details` as a person is shown them; the fallback credit token is not kept (no fallback model). */
export interface RefusalDetails {
  category: string | null;
  explanation: string | null;
}

export interface ToolRunInput {
  workflowId: string;
  turn: number;
  workspace: string;
  call: { id: string; name: string; input: unknown; inputRef?: BlobRef };
  /**
   * The chain's first run id and the call's index among its reply's calls: with the turn, what
   * makes the ledger key unique per call (activities/ledger.ts). Absent in inputs scheduled
   * before keys had them, whose records are under the old key.
   */
  chainId?: string;
  position?: number;
  /** The run's agent profile, whose tools it may call; absent: the built-in tools. */
  agent?: string;
  /**
   * The id of the escalation in which a person approved this call, when one did: the worker runs
   * a tool whose ceiling is `approve` only with it.
   */
  approvedBy?: string;
}

export interface EscalationNotice {
  url: string;
  workflowId: string;
  escalation: Escalation;
}

/**
 * The activities a longhaul worker registers (activities/index.ts implements them). Functions,
 * not methods: the worker calls each one detached from this object, so none may use `this`.
 */
export interface LonghaulActivities {
  /** One model call; writes the new user message and the reply to the transcript. */
  callModel: (input: ModelCallInput) => Promise<ModelCallResult>;
  /** On-demand compaction: the transcript becomes one summary block. */
  compactTranscript: (input: ModelCallInput) => Promise<ModelCallResult>;
  /** Runs a tool and returns its result as a block of the next user message. */
  runTool: (input: ToolRunInput) => Promise<PendingBlock>;
  /** POSTs an opened escalation to the run's webhook. */
  notifyEscalation: (notice: EscalationNotice) => Promise<void>;
  /** The defaults of a named agent, read once when its run starts (runs from before `admitRun`). */
  agentProfile: (name: string) => Promise<AgentDefaults>;
  /** The state as a model call stored it: a continued run's, carried by reference. */
  loadState: (ref: BlobRef) => Promise<AgentState>;
  /**
   * A new run's options as the worker admits them: agent defaults merged, tool policies checked
   * against their ceiling and made explicit, webhook and workspace checked. Refusals fail the run.
   */
  admitRun: (options: RunOptionsInput, admission?: Admission) => Promise<RunOptionsInput>;
  /**
   * A tool result the workflow made itself (a sub-agent's report) too large to keep inline
   * (INLINE_RESULT_CHARS): stored whole, by reference.
   */
  storeResult: (result: { toolUseId: string; content: string; isError?: boolean }) => Promise<PendingBlock>;
}
