import type { StepLatencies } from '../measure/event-times.js';
import { distribution, type Distribution } from '../measure/stats.js';
import type { OverheadResult } from '../perf/overhead.js';
import type { RecoveryCase } from '../perf/recovery.js';
import type { ThroughputResult } from '../perf/throughput.js';
import type { TokenVariant } from '../perf/tokens.js';
import { integer, markdownTable } from './markdown.js';

const ms = (n: number) => (Number.isFinite(n) ? `${n.toFixed(1)} ms` : '—');
const s = (millis: number) => `${(millis / 1000).toFixed(2)} s`;
const times = (n: number) => `${n.toFixed(2)}×`;

/** One row per design and server configuration. */
export function overheadTable(variants: { label: string; r: OverheadResult }[]): string {
  const rows = variants.flatMap(({ label, r }) =>
    (['direct', 'longhaul'] as const).map((design) => {
      const f = r[design];
      const name = design === 'direct' ? 'plain loop (not durable)' : 'longhaul (Temporal)';
      return [
        label,
        name,
        f.turns,
        `${f.seconds.toFixed(1)} s`,
        ms(f.msPerTurnTotal),
        ms(f.turnMs.median),
        ms(f.turnMs.mean),
        ms(f.turnMs.p90),
        ms(f.turnMs.p99),
        f.correctReport ? 'yes' : 'NO',
      ];
    }),
  );
  return markdownTable(
    [
      'dev server',
      'design',
      'turns',
      'wall time',
      'total / turns',
      'turn median',
      'turn mean',
      'turn p90',
      'turn p99',
      'correct report',
    ],
    rows,
  );
}

export function overheadSummaryTable(variants: { label: string; r: OverheadResult }[]): string {
  return markdownTable(
    [
      'dev server',
      'overhead per turn (median)',
      'overhead per turn (mean)',
      'ratio (median)',
      'ratio (mean)',
      'target ≤ 30 ms (median)',
    ],
    variants.map(({ label, r }) => [
      label,
      ms(r.overheadMedianMs),
      ms(r.overheadMeanMs),
      times(r.ratioMedian),
      times(r.ratioMean),
      r.overheadMedianMs <= 30 ? 'met' : `missed by ${ms(r.overheadMedianMs - 30)}`,
    ]),
  );
}

const cell = (d: Distribution | undefined) =>
  d && d.n ? `${d.median.toFixed(1)} / ${d.p90.toFixed(1)} / ${d.p99.toFixed(1)} (${d.n})` : '—';

/** Where a longhaul turn's time goes, from history timestamps: median / p90 / p99 ms (samples). */
export function stepsTable(variants: { label: string; steps: StepLatencies }[]): string {
  const steps: [string, (l: StepLatencies) => number[] | undefined][] = [
    ['workflow task: scheduled → started', (l) => l.workflowTaskScheduleToStart],
    ['workflow task: started → completed', (l) => l.workflowTaskStartToComplete],
    ['callModel: scheduled → started', (l) => l.activityScheduleToStart.callModel],
    ['callModel: started → completed', (l) => l.activityStartToComplete.callModel],
    ['runTool: scheduled → started', (l) => l.activityScheduleToStart.runTool],
    ['runTool: started → completed', (l) => l.activityStartToComplete.runTool],
  ];
  return markdownTable(
    ['step (median / p90 / p99 ms, samples)', ...variants.map((v) => v.label)],
    [
      ...steps.map(([name, pick]) => [name, ...variants.map((v) => cell(distribution(pick(v.steps) ?? [])))]),
      ['workflow tasks timed out', ...variants.map((v) => String(v.steps.workflowTaskTimedOut))],
    ],
  );
}

export function recoveryTable(cases: RecoveryCase[]): string {
  return markdownTable(
    [
      'kill point',
      'killed during',
      'turn',
      'history events',
      'new worker start',
      'polling → next model call',
      'kill → next model call',
      'polling → the one after',
      'kill → the one after',
      'target ≤ 2 s (polling → next)',
    ],
    cases.map((c) => [
      c.point,
      c.during === 'model call'
        ? `model call (${c.lastHeartbeatBeforeKillMs !== undefined ? `last heartbeat ${s(c.lastHeartbeatBeforeKillMs)} before` : 'no heartbeat yet'})`
        : c.during,
      c.turn,
      c.historyEvents,
      s(c.workerStartMs),
      s(c.pollingToNextModelCallMs),
      s(c.killToNextModelCallMs),
      s(c.pollingToSecondModelCallMs),
      s(c.killToSecondModelCallMs),
      c.pollingToNextModelCallMs <= 2000 ? 'met' : `missed by ${s(c.pollingToNextModelCallMs - 2000)}`,
    ]),
  );
}

/** Each case's history after the kill, as milliseconds after it. */
export function recoveryTimelines(cases: RecoveryCase[]): string {
  return cases
    .map((c) =>
      [
        `${c.point}, killed during ${c.during} (turn ${c.turn}):`,
        ...c.timeline.map((t) => `  +${t.atMs} ms  ${t.event}`),
      ].join('\n'),
    )
    .join('\n\n');
}

export function throughputTable(variants: { label: string; r: ThroughputResult }[]): string {
  return markdownTable(
    [
      'dev server',
      'runs × turns',
      'model latency',
      'wall time',
      'turns/s',
      'turn p50',
      'turn p99',
      'run time p50 / max',
      'peak RSS (start)',
      'process CPU',
      'correct reports',
      'target ≥ 50 turns/s',
    ],
    variants.map(({ label, r }) => [
      label,
      `${r.runs} × ${r.files + 1}`,
      `${r.latencyMs} ms`,
      `${r.wallSeconds.toFixed(1)} s`,
      r.turnsPerSecond.toFixed(1),
      ms(r.turnMs.median),
      ms(r.turnMs.p99),
      `${r.runSeconds.median.toFixed(1)} / ${r.runSeconds.max.toFixed(1)} s`,
      `${r.rss.peakMiB} MiB (${r.rss.startMiB})`,
      `${r.processCpuCores.toFixed(2)} cores`,
      `${r.completedCorrectly} / ${r.runs}`,
      r.turnsPerSecond >= 50 ? 'met' : `missed by ${(50 - r.turnsPerSecond).toFixed(1)} turns/s`,
    ]),
  );
}

export function tokensTable(variants: TokenVariant[]): string {
  const reference = variants.find((v) => v.compactions === 0 && v.outcome === 'completed');
  return markdownTable(
    [
      'variant',
      'outcome',
      'turns',
      'compactions (turn: context before → after)',
      'largest context',
      'input tokens',
      'compaction input',
      'billed input',
      'vs. no compaction',
      'output tokens',
      'correct report',
    ],
    variants.map((v) => [
      v.variant,
      v.outcome,
      v.turns,
      v.compactions === 0
        ? '0'
        : `${v.compactions}: ${v.compactionLog.map((c) => `${c.turn}: ${integer(c.inputTokensBefore)} → ${integer(c.inputTokensAfter)}`).join('; ')}`,
      integer(v.maxInputTokens),
      integer(v.inputTokens),
      integer(v.compactionInputTokens),
      integer(v.billedInputTokens),
      reference ? times(v.billedInputTokens / reference.billedInputTokens) : '—',
      integer(v.outputTokens + v.compactionOutputTokens),
      v.correctReport ? 'yes' : 'NO',
    ]),
  );
}
