import { isRecord, type InputMessage } from './protocol.js';

/**
 * The deterministic token estimate: a quarter of the JSON characters. The same function serves
 * `/v1/messages` and `/v1/messages/count_tokens`, so a client's count always predicts compaction.
 */
export const tokensOfChars = (chars: number): number => Math.ceil(chars / 4);

/**
 * A tool, system block, message or content block without its `cache_control` markers (its own and
 * those of the blocks in its `content`): a marker is no input to the model, so moving a breakpoint
 * changes neither the estimate nor the cached prefix.
 */
export function unmarked(value: unknown): unknown {
  if (!isRecord(value)) return value;
  const { cache_control: _marker, ...rest } = value;
  return Array.isArray(rest.content) ? { ...rest, content: rest.content.map(unmarked) } : rest;
}

const unmarkedAll = (value: unknown): unknown => (Array.isArray(value) ? value.map(unmarked) : value);

/** The model's input as one string: what is estimated, and what deterministic ids are derived from. */
export const serializeContext = (system: unknown, tools: unknown, messages: InputMessage[]): string =>
  JSON.stringify([unmarkedAll(system) ?? null, unmarkedAll(tools) ?? null, messages.map(unmarked)]);

export const estimateContextTokens = (system: unknown, tools: unknown, messages: InputMessage[]): number =>
  tokensOfChars(serializeContext(system, tools, messages).length);

/** Output tokens of generated blocks; nothing generated costs nothing. */
export const outputTokens = (blocks: readonly unknown[]): number =>
  blocks.length === 0 ? 0 : tokensOfChars(JSON.stringify(blocks).length);
