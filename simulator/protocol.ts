/**
 * Wire shapes of the Messages API (beta) as far as the simulator speaks it. Request-side blocks stay
 * loosely typed (the client may send any block type); response-side blocks are exactly what we emit.
 */

export interface InputBlock {
  type: string;
  [key: string]: unknown;
}

export interface InputMessage {
  role: 'user' | 'assistant';
  content: string | InputBlock[];
}

/** The lifetime of a prompt-cache entry, as `cache_control.ttl` names it. */
export type CacheTtl = '5m' | '1h';

/** The validated `compact_20260112` edit, with defaults applied. */
export interface CompactionEdit {
  trigger: number;
  pauseAfterCompaction: boolean;
}

export interface MessagesRequest {
  model: string;
  maxTokens: number;
  /** `system` and `tools` exactly as sent: they count towards the token estimate verbatim. */
  system: unknown;
  tools: unknown;
  messages: InputMessage[];
  stream: boolean;
  compaction: CompactionEdit | null;
  /** An on-demand compaction request: summarize `messages`, sample nothing after the block. */
  summarize: boolean;
  /** The compaction beta header was sent: every response then carries `usage.iterations`. */
  compactionBeta: boolean;
  /** The top-level `cache_control` (automatic caching): a breakpoint on the last cacheable block. */
  cacheControl: CacheTtl | null;
}

export interface TextBlock {
  type: 'text';
  text: string;
}

export interface ToolUseBlock {
  type: 'tool_use';
  id: string;
  name: string;
  input: unknown;
}

export interface CompactionBlock {
  type: 'compaction';
  content: string | null;
  encrypted_content: string | null;
  signature: string;
}

export type OutputBlock = TextBlock | ToolUseBlock | CompactionBlock;

export type StopReason =
  'end_turn' | 'tool_use' | 'compaction' | 'refusal' | 'max_tokens' | 'pause_turn' | 'model_context_window_exceeded';

/** `stop_details` of a refusal (BetaRefusalStopDetails); every other stop reason has null. */
export interface RefusalStopDetails {
  type: 'refusal';
  category: 'cyber' | 'bio' | 'frontier_llm' | 'reasoning_extraction' | 'general_harms' | null;
  explanation: string | null;
  fallback_credit_token: string | null;
  fallback_has_prefill_claim: boolean | null;
  recommended_model: string | null;
}

/** `cache_creation_input_tokens` split by the lifetime of the entries written. */
export interface CacheCreation {
  ephemeral_5m_input_tokens: number;
  ephemeral_1h_input_tokens: number;
}

export interface CacheFields {
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
  cache_creation: CacheCreation;
}

export type IterationUsage =
  | ({ type: 'compaction'; input_tokens: number; output_tokens: number } & CacheFields)
  | ({ type: 'message'; input_tokens: number; output_tokens: number; model: string } & CacheFields);

export interface Usage extends CacheFields {
  input_tokens: number;
  output_tokens: number;
  iterations: IterationUsage[] | null;
}

export interface MessageResponse {
  id: string;
  type: 'message';
  role: 'assistant';
  model: string;
  content: OutputBlock[];
  stop_reason: StopReason;
  stop_sequence: null;
  stop_details: RefusalStopDetails | null;
  container: null;
  context_management: { applied_edits: [] };
  diagnostics: null;
  usage: Usage;
}

export interface TokenCount {
  input_tokens: number;
  context_management: { original_input_tokens: number } | null;
}

export const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Blocks of a message, with the string shorthand expanded to one text block. */
export function blocksOf(message: InputMessage): InputBlock[] {
  return typeof message.content === 'string' ? [{ type: 'text', text: message.content }] : message.content;
}
