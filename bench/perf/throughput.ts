import { auditGroundTruth, auditReport } from '../../simulator/scenarios/audit.js';
import { startAudit } from '../../test/helpers/audit-run.js';
import type { RunResult } from '../../common/messages.js';
import { completionTimes, mergeLatencies, stepLatencies, type StepLatencies } from '../measure/event-times.js';
import { startCpuMeter, startRssSampler } from '../measure/rss.js';
import { settle } from '../measure/settle.js';
import { distribution, gaps, type Distribution } from '../measure/stats.js';
import type { Lane } from './lanes.js';
import type { PerfPlan } from './plan.js';
import { chainEvents, log, MODEL_ACTIVITY, UNATTENDED } from './runs.js';

export interface ThroughputResult {
  runs: number;
  files: number;
  latencyMs: number;
  completedCorrectly: number;
  turns: number;
  wallSeconds: number;
  turnsPerSecond: number;
  /** Time between consecutive model-call completions of a run, over all runs. */
  turnMs: Distribution;
  /** Per run, from the worker's start to the run's end. */
  runSeconds: Distribution;
  rss: { startMiB: number; peakMiB: number };
  /** This process's CPU time over the wall time, in cores (the machine has `cores`). */
  processCpuCores: number;
  steps: StepLatencies;
}

/**
 * Many concurrent audits on one in-process worker against a simulator with a fixed latency. The
 * runs are started first (their first workflow tasks wait on the queue), then the worker runs
 * until all have ended: wall time is from the worker's start to the last run's end.
 */
export async function measureThroughput(lane: Lane, plan: PerfPlan, tag: string): Promise<ThroughputResult> {
  const { throughputRuns: runs, throughputFiles: files } = plan;
  const expected = auditReport(files, auditGroundTruth(files));
  const worker = await lane.worker();
  const handles = await Promise.all(
    Array.from({ length: runs }, (_, i) =>
      startAudit(lane.harness, `throughput-${tag}-${String(i).padStart(3, '0')}`, files, {
        compaction: { trigger: plan.trigger },
        ...UNATTENDED,
      }).then((r) => r.handle),
    ),
  );
  log(`throughput (${tag}): ${runs} runs of ${files + 1} turns, model latency ${plan.throughputLatencyMs} ms`);
  const rss = startRssSampler();
  const cpu = startCpuMeter();
  const started = performance.now();
  const ends: number[] = [];
  const settled = await worker.runUntil(
    Promise.all(
      handles.map((handle) =>
        settle<RunResult>(handle, plan.deadlineMs).then((s) => (ends.push(performance.now() - started), s)),
      ),
    ),
  );
  const wallSeconds = Math.max(...ends) / 1000;
  const processCpuCores = cpu.stop();
  const memory = rss.stop();

  const chains = await chainEvents(lane.harness, handles);
  const turns = settled.reduce((n, s) => n + (s.result?.counters.turn ?? 0), 0);
  return {
    runs,
    files,
    latencyMs: plan.throughputLatencyMs,
    completedCorrectly: settled.filter((s) => s.result?.status === 'completed' && s.result.report === expected).length,
    turns,
    wallSeconds,
    turnsPerSecond: turns / wallSeconds,
    turnMs: distribution(chains.flatMap((events) => gaps(completionTimes(events, MODEL_ACTIVITY)))),
    runSeconds: distribution(ends.map((ms) => ms / 1000)),
    rss: memory,
    processCpuCores,
    steps: mergeLatencies(chains.map(stepLatencies)),
  };
}
