/**
 * The models longhaul may call: every id of the `Model` type of @anthropic-ai/sdk 1.12.0 (dated
 * ids included), with its limits and list prices. Data only, so workflows, activities and the
 * simulator read the same figures.
 *
 * Sources (read on PRICES_READ_ON; where they disagree the newest official page wins):
 * - https://platform.claude.com/docs/en/about-claude/pricing (model pricing table and footnotes)
 * - https://platform.claude.com/docs/en/models/overview (current lineup; cache reads are 0.1x input,
 *   0.025x on Fable/Mythos 5.1, 0.05x on Opus 5.5 and Sonnet 5.5)
 * - https://platform.claude.com/docs/en/build-with-claude/prompt-caching#cache-limitations (minimum
 *   cacheable prompt length per model, Claude API)
 * - Per-model pages https://platform.claude.com/docs/en/models/<model>/overview for context window,
 *   max output (synchronous Messages API, not the Batch API's larger beta limit) and prices:
 *   fable-5-2 (whats-new-fable-5-2), haiku-5-5, sonnet-5-5, opus-5-5, fable-5-1, sonnet-5, fable-5,
 *   mythos-5, opus-5, opus-4-8, opus-4-6, sonnet-4-6, opus-4-5, sonnet-4-5
 * - https://docs.aws.amazon.com/bedrock/latest/userguide/model-card-anthropic-claude-opus-4-7.md
 *   (Opus 4.7 limits; no platform.claude.com page for it was found)
 * Figures that no official page gave are marked where they appear.
 */

export interface ModelPrice {
  inputPerMTok: number;
  outputPerMTok: number;
  cacheWrite5mPerMTok: number;
  cacheWrite1hPerMTok: number;
  cacheReadPerMTok: number;
}

export interface ModelSpec {
  id: string;
  contextWindow: number;
  maxOutputTokens: number;
  /** Shorter prompts are not cached even when marked with cache_control, and no error is returned. */
  minCacheableTokens: number;
  price: ModelPrice;
  /**
   * A request whose prompt (input + cache reads + cache writes) is over `overTokens` pays these rates
   * on every token, output included (Claude Haiku 5.5 only).
   */
  longPrompt?: { overTokens: number; price: ModelPrice };
}

/** The date the list prices and limits below were read. */
export const PRICES_READ_ON = '2026-12-02';

export const DEFAULT_MODEL = 'claude-sonnet-5-5';

const M = 1_000_000;
const K = 1_000;

/** Dollars per million tokens: input, output, 5-minute cache write, 1-hour cache write, cache read. */
const usd = (input: number, output: number, write5m: number, write1h: number, read: number): ModelPrice =>
  Object.freeze({
    inputPerMTok: input,
    outputPerMTok: output,
    cacheWrite5mPerMTok: write5m,
    cacheWrite1hPerMTok: write1h,
    cacheReadPerMTok: read,
  });

type Limits = Omit<ModelSpec, 'id'>;

/** One row: context window, max output tokens, minimum cacheable prompt, list price. */
const row = (
  contextWindow: number,
  maxOutputTokens: number,
  minCacheableTokens: number,
  price: ModelPrice,
): Limits => ({
  contextWindow,
  maxOutputTokens,
  minCacheableTokens,
  price,
});

// Fable 5.2 and Mythos 5.2 are one model with different safeguards: same specifications and prices.
// Their minimum cacheable length was not found on any page; 512 is Fable/Mythos 5.1's and 5's.
const FABLE_5_2 = row(M, 128 * K, 512, usd(8, 40, 10, 16, 0.2));
const FABLE_5_1 = row(M, 128 * K, 512, usd(10, 50, 12.5, 20, 0.25));
const FABLE_5 = row(M, 128 * K, 512, usd(10, 50, 12.5, 20, 1));
const HAIKU_4_5 = row(200 * K, 64 * K, 4096, usd(1, 5, 1.25, 2, 0.1));
const OPUS_4_5 = row(200 * K, 64 * K, 4096, usd(5, 25, 6.25, 10, 0.5));
// Retired on 2026-11-30 (its page says so) but still in the SDK's Model type.
const SONNET_4_5 = row(200 * K, 64 * K, 1024, usd(3, 15, 3.75, 6, 0.3));

const TABLE: Readonly<Record<string, Limits>> = {
  'claude-fable-5-2': FABLE_5_2,
  'claude-mythos-5-2': FABLE_5_2,
  'claude-haiku-5-5': {
    ...row(M, 128 * K, 512, usd(0.1, 0.5, 0.125, 0.2, 0.01)),
    longPrompt: { overTokens: 100 * K, price: usd(0.5, 2.5, 0.625, 1, 0.05) },
  },
  // Cache reads cut from $0.20 to $0.10 on 2026-10-07.
  'claude-sonnet-5-5': row(M, 128 * K, 512, usd(2, 10, 2.5, 4, 0.1)),
  'claude-fable-5-1': FABLE_5_1,
  'claude-opus-5-5': row(M, 128 * K, 512, usd(4, 20, 5, 8, 0.2)),
  'claude-mythos-5-1': FABLE_5_1,
  'claude-sonnet-5': row(M, 128 * K, 1024, usd(2, 10, 2.5, 4, 0.2)),
  'claude-fable-5': FABLE_5,
  'claude-mythos-5': FABLE_5,
  'claude-opus-5': row(M, 128 * K, 512, usd(5, 25, 6.25, 10, 0.5)),
  'claude-opus-4-8': row(M, 128 * K, 1024, usd(5, 25, 6.25, 10, 0.5)),
  'claude-opus-4-7': row(M, 128 * K, 2048, usd(5, 25, 6.25, 10, 0.5)),
  // Limited to Project Glasswing partners; the pricing page does not list it. $25 / $125 is the price
  // third-party pages quote (one says $20 / $100); the cache prices are derived the documented way
  // (1.25x, 2x, 0.1x input). Limits from the Bedrock model card; the minimum is the prompt-caching page's.
  'claude-mythos-preview': row(M, 128 * K, 2048, usd(25, 125, 31.25, 50, 2.5)),
  'claude-opus-4-6': row(M, 128 * K, 4096, usd(5, 25, 6.25, 10, 0.5)),
  'claude-sonnet-4-6': row(M, 128 * K, 1024, usd(3, 15, 3.75, 6, 0.3)),
  'claude-haiku-4-5': HAIKU_4_5,
  'claude-haiku-4-5-20251001': HAIKU_4_5,
  'claude-opus-4-5': OPUS_4_5,
  'claude-opus-4-5-20251101': OPUS_4_5,
  'claude-sonnet-4-5': SONNET_4_5,
  'claude-sonnet-4-5-20250929': SONNET_4_5,
};

export const MODELS: Readonly<Record<string, ModelSpec>> = Object.freeze(
  Object.fromEntries(Object.entries(TABLE).map(([id, limits]) => [id, Object.freeze({ id, ...limits })])),
);

/** The spec of a model id, or undefined for an id the table does not know (a typo, a newer model). */
export const modelSpec = (id: string): ModelSpec | undefined => (Object.hasOwn(MODELS, id) ? MODELS[id] : undefined);
