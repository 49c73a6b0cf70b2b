import { join } from 'node:path';
import { DirectoryStore } from '../../store/directory-store.js';
import { auditGroundTruth, auditReport, auditTask, writeAuditWorkspace } from '../../simulator/scenarios/audit.js';
import { startAudit } from '../../test/helpers/audit-run.js';
import { createAnthropic } from '../../worker/create.js';
import type { RunResult } from '../../common/messages.js';
import { RunOptions } from '../../common/options.js';
import { completionTimes, stepLatencies, type StepLatencies } from '../measure/event-times.js';
import { settle } from '../measure/settle.js';
import { distribution, gaps, type Distribution } from '../measure/stats.js';
import type { PerfPlan } from './plan.js';
import { runDirectLoop } from './direct-loop.js';
import type { Lane } from './lanes.js';
import { chainEvents, log, MODEL_ACTIVITY, UNATTENDED } from './runs.js';

export interface LoopFigures {
  turns: number;
  correctReport: boolean;
  inputTokens: number;
  seconds: number;
  /** Wall time over turns. */
  msPerTurnTotal: number;
  /** Time between consecutive completed model calls: one turn each (its first turn has no predecessor). */
  turnMs: Distribution;
}

export interface OverheadResult {
  files: number;
  direct: LoopFigures;
  longhaul: LoopFigures & {
    runsInChain: number;
    compactions: number;
    firstCompactionTurn: number | undefined;
    steps: StepLatencies;
  };
  overheadMedianMs: number;
  overheadMeanMs: number;
  ratioMedian: number;
  ratioMean: number;
}

/**
 * Per-turn overhead: the same audit, once as a plain in-process loop over the same activities
 * (non-durable baseline) and once as a longhaul run on an in-process worker, one after the other
 * on the same simulator (zero latency). Turn time = time between consecutive model-call completions.
 */
export async function measureOverhead(lane: Lane, plan: PerfPlan, tag: string): Promise<OverheadResult> {
  const h = lane.harness;
  const n = plan.overheadFiles;
  const expected = auditReport(n, auditGroundTruth(n));

  const workspace = join(h.dir, `overhead-direct-${tag}`);
  await writeAuditWorkspace(workspace, n);
  const options = RunOptions.parse({
    task: auditTask(n),
    workspace,
    maxTurns: n + 50,
    compaction: { trigger: plan.trigger },
    toolPolicies: { write_file: 'allow' },
  });
  log(`overhead (${tag}): direct loop, audit of ${n} files`);
  const direct = await runDirectLoop({
    anthropic: createAnthropic({ ANTHROPIC_BASE_URL: lane.simulator.url }),
    store: new DirectoryStore(h.storeDir),
    options,
    workflowId: `overhead-direct-${tag}-${Date.now()}`,
  });

  log(`overhead (${tag}): longhaul run, audit of ${n} files`);
  const worker = await lane.worker();
  const { handle } = await startAudit(h, `overhead-longhaul-${tag}`, n, {
    compaction: { trigger: plan.trigger },
    ...UNATTENDED,
  });
  const settled = await worker.runUntil(settle<RunResult>(handle, plan.deadlineMs));
  if (!settled.result) throw new Error(`overhead: the longhaul run ended ${settled.outcome}`);
  const [events] = await chainEvents(h, [handle]);
  const result = settled.result;

  const directTurns = distribution(gaps(direct.modelCallCompletions));
  const longhaulTurns = distribution(gaps(completionTimes(events!, MODEL_ACTIVITY)));
  const directFigures: LoopFigures = {
    turns: direct.turns,
    correctReport: direct.report === expected,
    inputTokens: direct.counters.inputTokens,
    seconds: direct.seconds,
    msPerTurnTotal: (direct.seconds * 1000) / direct.turns,
    turnMs: directTurns,
  };
  return {
    files: n,
    direct: directFigures,
    longhaul: {
      turns: result.counters.turn,
      correctReport: result.report === expected,
      inputTokens: result.counters.inputTokens,
      seconds: settled.seconds,
      msPerTurnTotal: (settled.seconds * 1000) / result.counters.turn,
      turnMs: longhaulTurns,
      runsInChain: result.chain.runNumber,
      compactions: result.counters.compactions,
      firstCompactionTurn: result.compactions[0]?.turn,
      steps: stepLatencies(events!),
    },
    overheadMedianMs: longhaulTurns.median - directTurns.median,
    overheadMeanMs: longhaulTurns.mean - directTurns.mean,
    ratioMedian: longhaulTurns.median / directTurns.median,
    ratioMean: longhaulTurns.mean / directTurns.mean,
  };
}
