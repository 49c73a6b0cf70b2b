import { validateCacheControl } from './cache.js';
import { invalidRequest } from './errors.js';
import { isEffectiveCompaction, isOnDemandBlock, signSummary } from './compaction.js';
import {
  COMPACTION_BETA,
  COMPACTION_EDIT,
  DEFAULT_COMPACTION_TRIGGER,
  MIN_COMPACTION_TRIGGER,
  SUMMARIZE_BETA,
} from '../common/messages-api.js';
import { blocksOf, type CompactionEdit, type InputBlock, type InputMessage, type MessagesRequest } from './protocol.js';

/**
 * Request validation, as strict as the real API where a client bug would otherwise go unnoticed:
 * tool pairing, the compaction beta header, and compaction blocks sent back altered.
 * Every failure throws a 400 SimError.
 */

const COMPACTION_BLOCK_KEYS = new Set([
  'type',
  'content',
  'encrypted_content',
  'signature',
  'tool_changes',
  'cache_control',
]);
const COMPACTION_EDIT_KEYS = new Set(['type', 'trigger', 'instructions', 'pause_after_compaction']);

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

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
  { requireMaxTokens }: { requireMaxTokens: boolean },
): MessagesRequest {
  if (!isRecord(body)) throw invalidRequest('request body must be a JSON object');
  const { model, max_tokens: maxTokens, system, tools, stream } = body;
  if (typeof model !== 'string' || model === '') throw invalidRequest('model: Field required');
  if (requireMaxTokens && !(Number.isInteger(maxTokens) && (maxTokens as number) > 0)) {
    throw invalidRequest('max_tokens: must be a positive integer');
  }
  if (stream !== undefined && typeof stream !== 'boolean') throw invalidRequest('stream: must be a boolean');
  validateSystem(system);
  if (tools !== undefined && !Array.isArray(tools)) throw invalidRequest('tools: must be an array');
  const messages = validateMessages(body.messages);
  validateCompactionBlocks(messages, secret);
  validateToolPairing(messages);
  const compaction = validateContextManagement(body.context_management, betas);
  if (compaction && messages.some((m) => blocksOf(m).some((b) => isOnDemandBlock(b, secret)))) {
    // The API runs no threshold compaction (compact_20260112) on a request that carries a signed on-demand block.
    throw invalidRequest(
      'context_management: threshold compaction (compact_20260112) cannot run on a request that carries an on-demand compaction block',
    );
  }
  return {
    model,
    maxTokens: typeof maxTokens === 'number' ? maxTokens : 0,
    system,
    tools,
    messages,
    stream: stream === true,
    compaction,
    summarize: validateSummarize(body, betas),
    compactionBeta: betas.has(COMPACTION_BETA),
    cacheControl: validateCacheControl(body),
  };
}

/** `compaction: { type: 'summarize', instructions? }`: on-demand compaction. */
function validateSummarize(body: Record<string, unknown>, betas: Set<string>): boolean {
  const { compaction } = body;
  if (compaction === undefined) return false;
  if (!isRecord(compaction) || compaction.type !== 'summarize')
    throw invalidRequest('compaction.type: must be "summarize"');
  if (!betas.has(SUMMARIZE_BETA))
    throw invalidRequest(`compaction: requires the anthropic-beta header "${SUMMARIZE_BETA}"`);
  if (body.context_management !== undefined)
    throw invalidRequest('compaction: cannot be combined with context_management');
  const extra = Object.keys(compaction).find((key) => key !== 'type' && key !== 'instructions');
  if (extra) throw invalidRequest(`compaction.${extra}: Extra inputs are not permitted`);
  return true;
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
  typed.forEach((message, i) => {
    if (i > 0 && message.role === typed[i - 1]!.role) {
      throw invalidRequest(`messages.${i}: roles must alternate between "user" and "assistant"`);
    }
  });
  return typed;
}

function validateCompactionBlocks(messages: InputMessage[], secret: string): void {
  messages.forEach((message, i) => {
    const blocks = blocksOf(message);
    blocks.forEach((block, j) => {
      if (block.type !== 'compaction') return;
      const where = `messages.${i}.content.${j}`;
      const extra = Object.keys(block).find((key) => !COMPACTION_BLOCK_KEYS.has(key));
      if (extra) throw invalidRequest(`${where}.compaction.${extra}: Extra inputs are not permitted`);
      if (message.role === 'user') {
        throw invalidRequest(`${where}: compaction blocks belong in assistant messages`, 'compaction_block_misplaced');
      }
      checkSignedContent(block, where, secret);
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
  const verifies =
    signature === signSummary(secret, content) || signature === signSummary(secret, content, 'on-demand');
  if (typeof signature !== 'string' || !verifies) {
    throw invalidRequest(
      `${where}: the compaction block's signature does not verify; send the block back unchanged`,
      'compaction_signature_invalid',
    );
  }
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
    if (edit.instructions !== undefined && edit.instructions !== null && typeof edit.instructions !== 'string') {
      throw invalidRequest(`${where}.instructions: must be a string or null`);
    }
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
