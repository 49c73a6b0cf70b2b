/** What `bench/perf.ts` runs: the full plan by default, `--quick` for a smoke run. */
export interface PerfPlan {
  mode: 'full' | 'quick';
  /** Audit files of the per-turn overhead scenario: n files take n + 1 turns. */
  overheadFiles: number;
  /** Compaction trigger of every audit here but the token variants. */
  trigger: number;
  /** Files of the recovery run; it is capped at the kill point, so it never gets far. */
  recoveryFiles: number;
  /** Turns before the first compaction when it cannot be read from the overhead run. */
  fallbackCompactionTurn: number;
  /** Where the recovery kills happen: early in a run's chain, and a few turns before its continue-as-new. */
  recoveryPoints: ('early' | 'near-continue-as-new')[];
  /** How long the killed worker's model call has been running when the worker is killed. */
  killAfterMs: number;
  throughputRuns: number;
  throughputFiles: number;
  throughputLatencyMs: number;
  tokenFiles: number;
  tokenTriggers: number[];
  /** The context window of the extra "no compaction at all" token variant's simulator. */
  largeContextWindow: number;
  /** Run the overhead and throughput again on a dev server with its default config. */
  defaultConfigVariant: boolean;
  /** A guard against stuck runs, not an expected duration. */
  deadlineMs: number;
}

export const PERF_PLANS: Record<PerfPlan['mode'], PerfPlan> = {
  full: {
    mode: 'full',
    overheadFiles: 198,
    trigger: 50_000,
    recoveryFiles: 198,
    fallbackCompactionTurn: 45,
    recoveryPoints: ['early', 'near-continue-as-new'],
    killAfterMs: 3_000,
    throughputRuns: 100,
    throughputFiles: 48,
    throughputLatencyMs: 100,
    tokenFiles: 249,
    tokenTriggers: [50_000, 150_000],
    largeContextWindow: 1_000_000,
    defaultConfigVariant: true,
    deadlineMs: 10 * 60_000,
  },
  quick: {
    mode: 'quick',
    overheadFiles: 48,
    trigger: 50_000,
    recoveryFiles: 48,
    fallbackCompactionTurn: 45,
    recoveryPoints: ['early'],
    killAfterMs: 3_000,
    throughputRuns: 10,
    throughputFiles: 9,
    throughputLatencyMs: 100,
    tokenFiles: 60,
    tokenTriggers: [50_000],
    largeContextWindow: 1_000_000,
    defaultConfigVariant: true,
    deadlineMs: 3 * 60_000,
  },
};
