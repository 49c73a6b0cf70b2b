/** What the history benchmark runs: the full plan by default, `--quick` for a smoke run. */
export interface Plan {
  mode: 'full' | 'quick';
  /** Files of the audit both designs run without compaction: each adds about 1,100 tokens of context. */
  growthFiles: number;
  /** Context sizes (input tokens of a model call) at which per-turn history is reported. */
  targets: number[];
  longFiles: number;
  longMaxTurns: number;
  longTrigger: number;
  /** A guard against a run that never ends, not an expected duration. */
  deadlineMs: number;
}

export const PLANS: Record<Plan['mode'], Plan> = {
  full: {
    mode: 'full',
    growthFiles: 160,
    targets: [10_000, 50_000, 150_000],
    longFiles: 1_000,
    longMaxTurns: 1_100,
    longTrigger: 50_000,
    deadlineMs: 15 * 60_000,
  },
  quick: {
    mode: 'quick',
    growthFiles: 30,
    targets: [5_000, 10_000, 25_000],
    longFiles: 100,
    longMaxTurns: 110,
    longTrigger: 50_000,
    deadlineMs: 3 * 60_000,
  },
};
