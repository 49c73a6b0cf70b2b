/**
 * A minimal stand-in for the model table (owner: the `models` part of issue 13), with the
 * contract's names, so that pricing can be written against it; the integrator keeps the real one.
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
  minCacheableTokens: number;
  price: ModelPrice;
  /** A request whose prompt is over `overTokens` pays these rates on every token (some models only). */
  longPrompt?: { overTokens: number; price: ModelPrice };
}

export const PRICES_READ_ON = '2026-12-02';

export const DEFAULT_MODEL = 'claude-sonnet-5-5';

const usd = (input: number, output: number, write5m: number, write1h: number, read: number): ModelPrice => ({
  inputPerMTok: input,
  outputPerMTok: output,
  cacheWrite5mPerMTok: write5m,
  cacheWrite1hPerMTok: write1h,
  cacheReadPerMTok: read,
});

export const MODELS: Readonly<Record<string, ModelSpec>> = {
  'claude-sonnet-5-5': {
    id: 'claude-sonnet-5-5',
    contextWindow: 1_000_000,
    maxOutputTokens: 128_000,
    minCacheableTokens: 512,
    price: usd(2, 10, 2.5, 4, 0.1),
  },
  'claude-haiku-5-5': {
    id: 'claude-haiku-5-5',
    contextWindow: 1_000_000,
    maxOutputTokens: 128_000,
    minCacheableTokens: 512,
    price: usd(0.1, 0.5, 0.125, 0.2, 0.01),
    longPrompt: { overTokens: 100_000, price: usd(0.5, 2.5, 0.625, 1, 0.05) },
  },
  'claude-opus-4-6': {
    id: 'claude-opus-4-6',
    contextWindow: 1_000_000,
    maxOutputTokens: 128_000,
    minCacheableTokens: 4096,
    price: usd(5, 25, 6.25, 10, 0.5),
  },
};

export const modelSpec = (id: string): ModelSpec | undefined => (Object.hasOwn(MODELS, id) ? MODELS[id] : undefined);
