import { validateCacheControl } from './cache.js';
import { invalidRequest, SimError } from './errors.js';
import { checkSignature, isEffectiveCompaction, isOnDemandBlock } from './compaction.js';
import {
  COMPACTION_BETA,
  COMPACTION_EDIT,
  DEFAULT_COMPACTION_TRIGGER,
  MAX_COMPACTION_INSTRUCTIONS,
  MIN_COMPACTION_TRIGGER,
  SUMMARIZE_BETA,
} from '../common/messages-api.js';
import { modelSpec } from '../common/models.js';
import {
  blocksOf,
  isRecord,
  type CompactionEdit,
  type InputBlock,
  type InputMessage,
  type MessagesRequest,
} from './protocol.js';

/**
 * Request validation, as strict as the real API where a client bug would otherwise go unnoticed:
 * the model and its output limit, unknown parameters, tool pairing, the compaction betas and
 * compaction blocks sent back altered or misplaced. Every failure throws a SimError (400, or 404
 * for an unknown model) with the API's `error_code` where it has one.
 */

export type ApiEndpoint = 'messages' | 'count_tokens';

/**
 * The body parameters of the beta `MessageCreateParams` and `MessageCountTokensParams` of SDK
 * 1.12.0 (`betas`, `user_profile_id` and `workspace_id` are headers). Anything else is refused.
 */
const COUNT_TOKENS_PARAMS = [
  'billing_policy',
  'cache_control',
  'compaction',
  'context_management',
  'mcp_servers',
  'messages',
  'model',
  'output_config',
  'output_format',
  'speed',
  'system',
  'thinking',
  'tool_choice',
  'tools',
];
const TOP_LEVEL_PARAMS: Record<ApiEndpoint, ReadonlySet<string>> = {
  count_tokens: new Set(COUNT_TOKENS_PARAMS),
  messages: new Set([
    ...COUNT_TOKENS_PARAMS,
    'container',
    'diagnostics',
    'fallback_credit_token',
    'fallbacks',
    'inference_geo',
    'max_tokens',
    'metadata',
    'service_tier',
    'stop_sequences',
    'stream',
    'thread',
  ]),
};

const COMPACTION_BLOCK_KEYS = new Set([
  'type',
  'content',
  'encrypted_content',
  'signature',
  'tool_changes',
  'cache_control',
]);
const COMPACTION_EDIT_KEYS = new Set(['type', 'trigger', 'instructions', 'pause_after_compaction']);

/** `anthropic-beta` is a comma-separated list (the SDK joins `betas` that way). */
export function parseBetas(header: string | string[] | undefined): Set<string> {
  const joined = Array.isArray(header) ? header.join(',') : (header ?? '');
  return new Set(
    joined
      .split(',')
      .map((b) => b.trim())
      .filter(Boolean),
  );
}

export function validateRequest(
  body: unknown,
  betas: Set<string>,
  secret: string,
  endpoint: ApiEndpoint,
): MessagesRequest {
  if (!isRecord(body)) throw invalidRequest('request body must be a JSON object');
  const extra = Object.keys(body).find((key) => !TOP_LEVEL_PARAMS[endpoint].has(key));
  if (extra) throw invalidRequest(`${extra}: Extra inputs are not permitted`);
  const { model, system, tools, stream } = body;
  if (typeof model !== 'string' || model === '') throw invalidRequest('model: Field required');
  const spec = modelSpec(model);
  if (!spec) throw new SimError(404, `model: ${model}`);
  const maxTokens = endpoint === 'messages' ? validateMaxTokens(body.max_tokens, spec) : 0;
  if (stream !== undefined && typeof stream !== 'boolean') throw invalidRequest('stream: must be a boolean');
  validateSystem(system);
  if (tools !== undefined && !Array.isArray(tools)) throw invalidRequest('tools: must be an array');
  const messages = mergeSameRole(validateMessages(body.messages));
  validateCompactionBlocks(messages, secret, betas);
  validateToolPairing(messages);
  const compaction = validateContextManagement(body.context_management, betas);
  if (compaction && messages.some((m) => blocksOf(m).some((b) => isOnDemandBlock(b, secret)))) {
    // The API runs no threshold compaction (compact_20260112) on a request that carries a signed on-demand block.
    throw invalidRequest(
      'context_management: threshold compaction (compact_20260112) cannot run on a request that carries an on-demand compaction block',
    );
  }
  const summarize = validateSummarize(body, betas, endpoint);
  if (summarize) validateCompactionRequest(body, messages);
  return {
    model,
    maxTokens,
    system,
    tools,
    messages,
    stream: stream === true,
    compaction,
    summarize,
    compactionBeta: betas.has(COMPACTION_BETA),
    cacheControl: validateCacheControl(body),
  };
}

/** `max_tokens: 0` is allowed: it warms the prompt cache without generating anything. */
function validateMaxTokens(maxTokens: unknown, spec: { id: string; maxOutputTokens: number }): number {
  if (maxTokens === undefined) throw invalidRequest('max_tokens: Field required');
  if (!Number.isInteger(maxTokens) || (maxTokens as number) < 0) {
    throw invalidRequest('max_tokens: must be a non-negative integer');
  }
  const value = maxTokens as number;
  if (value > spec.maxOutputTokens) {
    throw invalidRequest(
      `max_tokens: ${value} > ${spec.maxOutputTokens}, which is the maximum allowed number of output tokens for ${spec.id}`,
    );
  }
  return value;
}

/** `compaction: { type: 'summarize', instructions? }`: on-demand compaction; count_tokens ignores it. */
function validateSummarize(body: Record<string, unknown>, betas: Set<string>, endpoint: ApiEndpoint): boolean {
  const { compaction } = body;
  if (compaction === undefined || compaction === null) return false;
  if (!isRecord(compaction) || compaction.type !== 'summarize')
    throw invalidRequest('compaction.type: must be "summarize"');
  if (!betas.has(SUMMARIZE_BETA))
    throw invalidRequest(`compaction: requires the anthropic-beta header "${SUMMARIZE_BETA}"`);
  if (body.context_management !== undefined && body.context_management !== null)
    throw invalidRequest('compaction: cannot be combined with context_management');
  const extra = Object.keys(compaction).find((key) => key !== 'type' && key !== 'instructions');
  if (extra) throw invalidRequest(`compaction.${extra}: Extra inputs are not permitted`);
  validateInstructions(compaction.instructions, 'compaction.instructions');
  return endpoint === 'messages';
}

function validateInstructions(instructions: unknown, where: string): void {
  if (instructions === undefined || instructions === null) return;
  if (typeof instructions !== 'string') throw invalidRequest(`${where}: must be a string or null`);
  if (instructions.length > MAX_COMPACTION_INSTRUCTIONS) {
    throw invalidRequest(`${where}: at most ${MAX_COMPACTION_INSTRUCTIONS} characters, got ${instructions.length}`);
  }
}

/** What a compaction request may not carry, and the unfinished turn it cannot summarize. */
function validateCompactionRequest(body: Record<string, unknown>, messages: InputMessage[]): void {
  const refuse = (param: string) => {
    throw invalidRequest(`${param}: not supported on a compaction request`);
  };
  if (body.stop_sequences !== undefined) refuse('stop_sequences');
  const toolChoice = isRecord(body.tool_choice) ? body.tool_choice.type : undefined;
  if (toolChoice === 'any' || toolChoice === 'tool') refuse(`tool_choice.type "${toolChoice}"`);
  if (body.output_format !== undefined && body.output_format !== null) refuse('output_format');
  const outputConfig = isRecord(body.output_config) ? body.output_config : {};
  if (outputConfig.format !== undefined && outputConfig.format !== null) refuse('output_config.format');
  const budget = isRecord(outputConfig.task_budget) ? outputConfig.task_budget : {};
  if (budget.remaining !== undefined && budget.remaining !== null) refuse('output_config.task_budget.remaining');
  const last = messages.at(-1)!;
  if (last.role === 'assistant' && toolUseIds(blocksOf(last)).length > 0) {
    throw invalidRequest(
      `messages.${messages.length - 1}: the conversation ends with a \`tool_use\` that has no \`tool_result\`; ` +
        'a compaction request cannot summarize an unfinished turn',
      'compaction_incomplete_turn',
    );
  }
}

function validateSystem(system: unknown): void {
  if (system === undefined || typeof system === 'string') return;
  const textBlocks =
    Array.isArray(system) && system.every((b) => isRecord(b) && b.type === 'text' && typeof b.text === 'string');
  if (!textBlocks) throw invalidRequest('system: must be a string or an array of text blocks');
}

function validateMessages(messages: unknown): InputMessage[] {
  if (!Array.isArray(messages) || messages.length === 0) throw invalidRequest('messages: must be a non-empty array');
  messages.forEach((message, i) => {
    if (!isRecord(message) || (message.role !== 'user' && message.role !== 'assistant')) {
      throw invalidRequest(`messages.${i}.role: must be "user" or "assistant"`);
    }
    const { content } = message;
    const blocksOk = Array.isArray(content) && content.every((b) => isRecord(b) && typeof b.type === 'string');
    if (typeof content !== 'string' && !blocksOk) {
      throw invalidRequest(`messages.${i}.content: must be a string or an array of content blocks`);
    }
  });
  const typed = messages as InputMessage[];
  const first = typed[0]!;
  if (first.role !== 'user' && blocksOf(first)[0]?.type !== 'compaction') {
    throw invalidRequest('messages.0: the first message must use the "user" role or start with a compaction block');
  }
  return typed;
}

/** Consecutive messages of one role are one turn to the API: their blocks are joined, in order. */
export function mergeSameRole(messages: InputMessage[]): InputMessage[] {
  const merged: InputMessage[] = [];
  for (const message of messages) {
    const last = merged.at(-1);
    if (last?.role === message.role) last.content = [...blocksOf(last), ...blocksOf(message)];
    else merged.push({ ...message });
  }
  return merged;
}

function validateCompactionBlocks(messages: InputMessage[], secret: string, betas: Set<string>): void {
  messages.forEach((message, i) => {
    const blocks = blocksOf(message);
    blocks.forEach((block, j) => {
      if (block.type !== 'compaction') return;
      const where = `messages.${i}.content.${j}`;
      if (!betas.has(COMPACTION_BETA) && !betas.has(SUMMARIZE_BETA)) {
        throw invalidRequest(
          `${where}: compaction blocks require the anthropic-beta header "${COMPACTION_BETA}" or "${SUMMARIZE_BETA}"`,
        );
      }
      const extra = Object.keys(block).find((key) => !COMPACTION_BLOCK_KEYS.has(key));
      if (extra) throw invalidRequest(`${where}.compaction.${extra}: Extra inputs are not permitted`);
      if (message.role === 'user') {
        throw invalidRequest(`${where}: compaction blocks belong in assistant messages`, 'compaction_block_misplaced');
      }
      checkSignedContent(block, where, secret);
      // An on-demand block replaces what it summarized: nothing may come before it.
      if ((i > 0 || j > 0) && isOnDemandBlock(block, secret)) {
        throw invalidRequest(
          `${where}: an on-demand compaction block must be the first block of the conversation`,
          'compaction_block_misplaced',
        );
      }
    });
    if (blocks.filter(isEffectiveCompaction).length > 1) {
      throw invalidRequest(`messages.${i}: more than one compaction block with content`, 'compaction_block_ambiguous');
    }
  });
}

function checkSignedContent(block: InputBlock, where: string, secret: string): void {
  const { content, signature } = block;
  if (content === null || content === undefined) return; // a failed compaction: a no-op, nothing to verify
  if (typeof content !== 'string') throw invalidRequest(`${where}.content: must be a string or null`);
  if (content === '') throw invalidRequest(`${where}.content: empty string is not allowed`);
  const check = checkSignature(secret, content, signature);
  if (check.ok) return;
  if (check.reason === 'mismatch') {
    throw invalidRequest(
      `${where}: the compaction block's content differs from what its signature recorded; send the block back unchanged`,
      'compaction_content_mismatch',
    );
  }
  throw invalidRequest(`${where}: the compaction block's signature does not verify`, 'compaction_signature_invalid');
}

const toolUseIds = (blocks: InputBlock[]): string[] =>
  blocks.filter((b) => b.type === 'tool_use').map((b) => String(b.id));
const toolResultIds = (blocks: InputBlock[]): string[] =>
  blocks.filter((b) => b.type === 'tool_result').map((b) => String(b.tool_use_id));

/** Each tool_use is answered in the very next message, and each tool_result answers the message before. */
function validateToolPairing(messages: InputMessage[]): void {
  messages.forEach((message, i) => {
    const next = messages[i + 1];
    if (message.role === 'assistant' && next) {
      const answered = new Set(toolResultIds(blocksOf(next)));
      const missing = toolUseIds(blocksOf(message)).filter((id) => !answered.has(id));
      if (missing.length > 0) {
        throw invalidRequest(
          `messages.${i}: \`tool_use\` ids were found without \`tool_result\` blocks immediately after: ${missing.join(', ')}. ` +
            'Each `tool_use` block must have a corresponding `tool_result` block in the next message.',
        );
      }
    }
    if (message.role === 'user') {
      const previous = messages[i - 1];
      const asked = new Set(previous ? toolUseIds(blocksOf(previous)) : []);
      const unexpected = toolResultIds(blocksOf(message)).filter((id) => !asked.has(id));
      if (unexpected.length > 0) {
        throw invalidRequest(
          `messages.${i}: unexpected \`tool_use_id\` found in \`tool_result\` blocks: ${unexpected.join(', ')}. ` +
            'Each `tool_result` block must have a corresponding `tool_use` block in the previous message.',
        );
      }
    }
  });
}

function validateContextManagement(value: unknown, betas: Set<string>): CompactionEdit | null {
  if (value === undefined || value === null) return null;
  if (!isRecord(value) || (value.edits !== undefined && !Array.isArray(value.edits))) {
    throw invalidRequest('context_management: must be an object with an `edits` array');
  }
  const edits = (value.edits ?? []) as unknown[];
  let compaction: CompactionEdit | null = null;
  edits.forEach((edit, i) => {
    const where = `context_management.edits.${i}`;
    if (!isRecord(edit) || edit.type !== COMPACTION_EDIT) {
      // The simulator implements threshold compaction only; clearing edits would silently do nothing.
      throw invalidRequest(`${where}.type: the simulator supports only "${COMPACTION_EDIT}"`);
    }
    if (!betas.has(COMPACTION_BETA)) {
      throw invalidRequest(`${where}: "${COMPACTION_EDIT}" requires the anthropic-beta header "${COMPACTION_BETA}"`);
    }
    if (compaction) throw invalidRequest(`${where}: "${COMPACTION_EDIT}" may appear only once`);
    const extra = Object.keys(edit).find((key) => !COMPACTION_EDIT_KEYS.has(key));
    if (extra) throw invalidRequest(`${where}.${extra}: Extra inputs are not permitted`);
    validateInstructions(edit.instructions, `${where}.instructions`);
    const pause = edit.pause_after_compaction;
    if (pause !== undefined && pause !== null && typeof pause !== 'boolean') {
      throw invalidRequest(`${where}.pause_after_compaction: must be a boolean`);
    }
    compaction = { trigger: validateTrigger(edit.trigger, `${where}.trigger`), pauseAfterCompaction: pause === true };
  });
  return compaction;
}

function validateTrigger(trigger: unknown, where: string): number {
  if (trigger === undefined || trigger === null) return DEFAULT_COMPACTION_TRIGGER;
  if (!isRecord(trigger) || trigger.type !== 'input_tokens') {
    throw invalidRequest(`${where}.type: "input_tokens" is the only supported trigger type`);
  }
  const { value } = trigger;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < MIN_COMPACTION_TRIGGER) {
    throw invalidRequest(`${where}.value: must be an integer of at least ${MIN_COMPACTION_TRIGGER} input tokens`);
  }
  return value;
}
