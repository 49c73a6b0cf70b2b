import { ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import { auditGroundTruth, auditReport } from '../../simulator/scenarios/audit.js';
import { startAudit } from '../../test/helpers/audit-run.js';
import type { CompactionEntry } from '../../common/counters.js';
import type { RunResult } from '../../common/messages.js';
import type { RunOptionsInput } from '../../common/options.js';
import type { Lane } from './lanes.js';
import type { PerfPlan } from './plan.js';
import { log, UNATTENDED } from './runs.js';

export interface TokenVariant {
  variant: string;
  /** The simulator's context window, in estimated tokens. */
  contextWindow: number;
  outcome: string;
  correctReport: boolean;
  turns: number;
  modelCalls: number;
  compactions: number;
  compactionLog: CompactionEntry[];
  maxInputTokens: number;
  inputTokens: number;
  compactionInputTokens: number;
  /** inputTokens + compactionInputTokens: what the run is billed for input. */
  billedInputTokens: number;
  outputTokens: number;
  compactionOutputTokens: number;
}

/** How a run ended, with its counters even when it failed (a failed run's result is the failure's detail). */
async function endOf(result: Promise<RunResult>): Promise<{ outcome: string; result?: RunResult }> {
  try {
    const r = await result;
    return { outcome: r.reason ? `${r.status}: ${r.reason}` : r.status, result: r };
  } catch (err) {
    if (!(err instanceof WorkflowFailedError)) throw err;
    const cause = err.cause;
    const detail = cause instanceof ApplicationFailure ? (cause.details?.[0] as RunResult | undefined) : undefined;
    return { outcome: `failed: ${cause?.message ?? err.message}`, ...(detail ? { result: detail } : {}) };
  }
}

/**
 * Input tokens billed for the same audit with threshold compaction at each trigger, with compaction
 * off on the default 200K window (the run then meets the window, and on-demand compaction is what
 * happens), and with compaction off on a simulator whose window is large enough never to be met.
 * All variants run at once; only their token counts are read.
 */
export async function measureTokens(defaultLane: Lane, largeWindowLane: Lane, plan: PerfPlan): Promise<TokenVariant[]> {
  const n = plan.tokenFiles;
  const expected = auditReport(n, auditGroundTruth(n));
  const variants: { variant: string; lane: Lane; contextWindow: number; options: Partial<RunOptionsInput> }[] = [
    ...plan.tokenTriggers.map((trigger) => ({
      variant: `compaction at ${trigger / 1000}K`,
      lane: defaultLane,
      contextWindow: 200_000,
      options: { compaction: { trigger } },
    })),
    {
      variant: 'compaction off (200K window)',
      lane: defaultLane,
      contextWindow: 200_000,
      options: { compaction: { enabled: false } },
    },
    {
      variant: `compaction off (${plan.largeContextWindow / 1000}K window)`,
      lane: largeWindowLane,
      contextWindow: plan.largeContextWindow,
      options: { compaction: { enabled: false } },
    },
  ];
  log(`tokens: ${variants.length} audits of ${n} files at once`);
  const started = await Promise.all(
    variants.map((v, i) =>
      startAudit(v.lane.harness, `tokens-${i}`, n, { ...v.options, maxTurns: n + 50, ...UNATTENDED }),
    ),
  );
  const [defaultWorker, largeWorker] = await Promise.all([defaultLane.worker(), largeWindowLane.worker()]);
  const settled = await defaultWorker.runUntil(
    largeWorker.runUntil(Promise.all(started.map(({ handle }) => endOf(handle.result())))),
  );
  return variants.map((v, i): TokenVariant => {
    const s = settled[i]!;
    const c = s.result?.counters;
    return {
      variant: v.variant,
      contextWindow: v.contextWindow,
      outcome: s.outcome,
      correctReport: s.result?.report === expected,
      turns: c?.turn ?? 0,
      modelCalls: c?.modelCalls ?? 0,
      compactions: c?.compactions ?? 0,
      compactionLog: s.result?.compactions ?? [],
      maxInputTokens: c?.maxInputTokens ?? 0,
      inputTokens: c?.inputTokens ?? 0,
      compactionInputTokens: c?.compactionInputTokens ?? 0,
      billedInputTokens: (c?.inputTokens ?? 0) + (c?.compactionInputTokens ?? 0),
      outputTokens: c?.outputTokens ?? 0,
      compactionOutputTokens: c?.compactionOutputTokens ?? 0,
    };
  });
}
