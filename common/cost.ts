import { z } from 'zod';
import type { ModelCallResult } from './contracts.js';
import { modelSpec, type ModelPrice } from './models.js';
import { describeZodError } from './options.js';

/**
 * What a model call costs, in whole nano-dollars (1e-9 USD): a price per million tokens is then a
 * whole number of nano-dollars per token to three decimals of a dollar per MTok (every list price
 * has at most three), so a call's cost is exact and a run's total is exactly the sum of its calls
 * (no rounding anywhere). A number holds 9e15 of them: nine million dollars a chain.
 */
export type Nanos = number;

type Usage = ModelCallResult['usage'];

/** Prices by model id, over the table's list prices (a contract price, a model the table lacks). */
export type PriceOverrides = Readonly<Record<string, ModelPrice>>;

const perMTok = z.number().nonnegative().max(10_000);
const ModelPriceSchema = z
  .object({
    inputPerMTok: perMTok,
    outputPerMTok: perMTok,
    cacheWrite5mPerMTok: perMTok,
    cacheWrite1hPerMTok: perMTok,
    cacheReadPerMTok: perMTok,
  })
  .strict();
export const PriceOverridesSchema = z.record(z.string().min(1), ModelPriceSchema);

/** Price overrides from JSON text (`{"model": {inputPerMTok, …}}`), or a one-line reason for refusing it. */
export function parsePriceOverrides(json: string): { ok: true; prices: PriceOverrides } | { ok: false; error: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (err) {
    return { ok: false, error: `not JSON (${(err as Error).message})` };
  }
  const parsed = PriceOverridesSchema.safeParse(raw);
  return parsed.success ? { ok: true, prices: parsed.data } : { ok: false, error: describeZodError(parsed.error) };
}

/** A model's rates for a call: an override, else the table's (its long-prompt rates above their threshold). */
export function priceOf(model: string, overrides: PriceOverrides = {}, promptTokens = 0): ModelPrice | undefined {
  if (Object.hasOwn(overrides, model)) return overrides[model];
  const spec = modelSpec(model);
  if (!spec) return undefined;
  return spec.longPrompt && promptTokens > spec.longPrompt.overTokens ? spec.longPrompt.price : spec.price;
}

/** Nano-dollars per token at a price per million tokens, to 0.001 $/MTok. */
const rate = (perMillion: number): number => Math.round(perMillion * 1_000);

/**
 * The cost of one call's usage: uncached input, 5-minute and 1-hour cache writes, cache reads and
 * output at their rates; a compaction iteration at its own tokens (its input at the base input
 * rate, its cache writes at the 5-minute rate, which the API bills for them). Undefined when the
 * model has no price.
 */
export function callCost(model: string, usage: Usage, overrides: PriceOverrides = {}): Nanos | undefined {
  const write = usage.cacheWriteTokens ?? 0;
  const write1h = Math.min(usage.cacheWrite1hTokens ?? 0, write);
  const read = usage.cacheReadTokens ?? 0;
  const price = priceOf(model, overrides, usage.inputTokens + write + read);
  if (!price) return undefined;
  let nanos =
    usage.inputTokens * rate(price.inputPerMTok) +
    (write - write1h) * rate(price.cacheWrite5mPerMTok) +
    write1h * rate(price.cacheWrite1hPerMTok) +
    read * rate(price.cacheReadPerMTok) +
    usage.outputTokens * rate(price.outputPerMTok);
  const c = usage.compaction;
  if (c) {
    const cWrite = c.cacheWriteTokens ?? 0;
    const cRead = c.cacheReadTokens ?? 0;
    const cPrice = priceOf(model, overrides, c.inputTokens + cWrite + cRead)!;
    nanos +=
      c.inputTokens * rate(cPrice.inputPerMTok) +
      cWrite * rate(cPrice.cacheWrite5mPerMTok) +
      cRead * rate(cPrice.cacheReadPerMTok) +
      c.outputTokens * rate(cPrice.outputPerMTok);
  }
  return nanos;
}

export const nanosOfUsd = (usd: number): Nanos => Math.round(usd * 1e9);

/** $0.0042, $1.23, $1,234.56: four decimals under a dollar, where a turn's cost shows (no Intl: workflow code uses it). */
export function formatUsd(nanos: Nanos): string {
  const usd = nanos / 1e9;
  if (usd < 1) return `$${usd.toFixed(4)}`;
  return `$${usd.toFixed(2).replace(/\B(?=(\d{3})+\.)/g, ',')}`;
}
