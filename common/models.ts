/**
 * Minimal local stand-in for the model table (owner: `models`); the integrator keeps the real
 * common/models.ts, which has every id of the SDK 1.12.0 `Model` type. Same names and shapes.
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
}

export const PRICES_READ_ON = '2026-12-02';

export const DEFAULT_MODEL = 'claude-sonnet-5-5';

const price = (input: number, output: number): ModelPrice => ({
  inputPerMTok: input,
  outputPerMTok: output,
  cacheWrite5mPerMTok: input * 1.25,
  cacheWrite1hPerMTok: input * 2,
  cacheReadPerMTok: input * 0.1,
});

export const MODELS: Readonly<Record<string, ModelSpec>> = Object.freeze({
  'claude-sonnet-5-5': {
    id: 'claude-sonnet-5-5',
    contextWindow: 1_000_000,
    maxOutputTokens: 128_000,
    minCacheableTokens: 512,
    price: price(2, 10),
  },
  'claude-haiku-4-5': {
    id: 'claude-haiku-4-5',
    contextWindow: 200_000,
    maxOutputTokens: 64_000,
    minCacheableTokens: 4096,
    price: price(1, 5),
  },
  'claude-opus-5-5': {
    id: 'claude-opus-5-5',
    contextWindow: 1_000_000,
    maxOutputTokens: 128_000,
    minCacheableTokens: 512,
    price: price(4, 20),
  },
});

export const modelSpec = (id: string): ModelSpec | undefined => (Object.hasOwn(MODELS, id) ? MODELS[id] : undefined);
