import type { Counters } from '../../common/counters.js';

/**
 * What the API bills for input, in base input-token equivalents: uncached input (answers' and
 * compaction's) at 1.0, 5-minute cache writes at 1.25, 1-hour writes at 2.0, cache reads at 0.1:
 * the multipliers every model's list price applies to its base input rate.
 */
export const BILLING_WEIGHTS = { input: 1, write5m: 1.25, write1h: 2, read: 0.1 } as const;

export function billedInputEquivalents(c: Counters): number {
  const w = BILLING_WEIGHTS;
  const write1h = Math.min(c.cacheWrite1hTokens, c.cacheWriteTokens);
  return (
    (c.inputTokens + c.compactionInputTokens) * w.input +
    (c.cacheWriteTokens - write1h) * w.write5m +
    write1h * w.write1h +
    c.cacheReadTokens * w.read
  );
}
