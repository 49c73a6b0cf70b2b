/** Order statistics of a sample of durations (or any numbers). */
export interface Distribution {
  n: number;
  mean: number;
  median: number;
  p90: number;
  p99: number;
  min: number;
  max: number;
}

/** The nearest-rank percentile (p in 0–100) of an ascending array. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export function distribution(values: number[]): Distribution {
  const sorted = [...values].sort((a, b) => a - b);
  const sum = sorted.reduce((a, b) => a + b, 0);
  return {
    n: sorted.length,
    mean: sorted.length ? sum / sorted.length : NaN,
    median: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    min: sorted[0] ?? NaN,
    max: sorted.at(-1) ?? NaN,
  };
}

/** Differences between consecutive values: the time between consecutive events. */
export const gaps = (times: number[]): number[] => times.slice(1).map((t, i) => t - times[i]!);
