import type { InputMessage } from './protocol.js';

/**
 * The deterministic token estimate: a quarter of the JSON characters. The same function serves
 * `/v1/messages` and `/v1/messages/count_tokens`, so a client's count always predicts compaction.
 */
export const tokensOfChars = (chars: number): number => Math.ceil(chars / 4);

/** The model's input as one string: what is estimated, and what deterministic ids are derived from. */
export const serializeContext = (system: unknown, tools: unknown, messages: InputMessage[]): string =>
  JSON.stringify([system ?? null, tools ?? null, messages]);

export const estimateContextTokens = (system: unknown, tools: unknown, messages: InputMessage[]): number =>
  tokensOfChars(serializeContext(system, tools, messages).length);

/** Output tokens of generated blocks; nothing generated costs nothing. */
export const outputTokens = (blocks: readonly unknown[]): number =>
  blocks.length === 0 ? 0 : tokensOfChars(JSON.stringify(blocks).length);
