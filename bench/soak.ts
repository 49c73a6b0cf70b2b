/**
 * Soak (`npm run soak`, `--quick` for a 10x20 smoke run): many concurrent audits on one in-process
 * worker against the simulator, with about one model request in ten failing (429 with retry-after,
 * 500, 503, 529, dropped connections, in a seeded mix). Every run must complete with the correct
 * report; a run still open at the deadline is listed. Prints a table and writes bench/results/.
 *
 * Not a test: it asserts nothing about timings, it reports them. It exits non-zero when a run did
 * not complete correctly.
 */
import type { WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { Runtime } from '@temporalio/worker';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { ensureTemporalCli } from '../scripts/temporal-cli.mjs';
import type { Fault } from '../simulator/server.js';
import { auditGroundTruth, auditReport } from '../simulator/scenarios/audit.js';
import { startAudit } from '../test/helpers/audit-run.js';
import { startHarness, type Harness } from '../test/helpers/harness.js';
import type { AgentRunWorkflow } from '../common/messages.js';
import { progressQuery, type RunResult } from '../common/messages.js';
import { connectHistoryReader, fetchRunChain } from './measure/run-chain.js';
import { describeMachine, machineLine } from './report/machine.js';
import { mulberry32 } from '../simulator/seeded-random.js';

interface SoakPlan {
  mode: 'full' | 'quick';
  runs: number;
  /** Audit files per run: an audit of n files takes n + 1 turns (n reads, and the report). */
  files: number;
  /** The share of model requests that get a fault. */
  faultRate: number;
  /** A guard against stuck runs, not an expected duration. */
  deadlineMs: number;
}

const PLANS: Record<SoakPlan['mode'], SoakPlan> = {
  full: { mode: 'full', runs: 50, files: 99, faultRate: 0.1, deadlineMs: 15 * 60_000 },
  quick: { mode: 'quick', runs: 10, files: 19, faultRate: 0.1, deadlineMs: 5 * 60_000 },
};

const SEED = 0x50a6c0de;
const MODEL_ACTIVITY = 'callModel';

const log = (line: string) => process.stderr.write(`${line}\n`);

type FaultKind = '429' | '500' | '503' | '529' | 'drop';
const FAULT_MIX: [FaultKind, number][] = [
  ['429', 0.25],
  ['500', 0.2],
  ['503', 0.2],
  ['529', 0.2],
  ['drop', 0.15],
];
const FAULTS: Record<FaultKind, Fault> = {
  '429': { status: 429, headers: { 'retry-after': '1' }, match: 'messages' },
  '500': { status: 500, match: 'messages' },
  '503': { status: 503, match: 'messages' },
  '529': { status: 529, errorType: 'overloaded_error', match: 'messages' },
  drop: { dropConnection: true, match: 'messages' },
};

/**
 * Keeps one fault at a time in the simulator's queue, spaced by a seeded geometric number of clean
 * model requests, so that about `rate` of all model requests fail. Every fault is `match:
 * 'messages'`, so all of them land on model calls; the rate actually served is measured, not assumed.
 */
function startFaultInjector(h: Harness, rate: number, random: () => number) {
  const byKind: Record<FaultKind, number> = { '429': 0, '500': 0, '503': 0, '529': 0, drop: 0 };
  // Clean requests before the next fault: geometric with success probability `rate` (mean (1-rate)/rate).
  const gap = () => Math.floor(Math.log(1 - random()) / Math.log(1 - rate));
  const kind = (): FaultKind => {
    let r = random();
    for (const [k, w] of FAULT_MIX) if ((r -= w) < 0) return k;
    return 'drop';
  };
  let injected = 0;
  let served = 0;
  let servedAtRequest = 0;
  let nextGap = gap();
  const modelRequests = () => {
    const s = h.simulator.stats();
    return s.messages + s.faultsServed;
  };
  const timer = setInterval(() => {
    const stats = h.simulator.stats();
    if (stats.faultsServed > served) {
      served = stats.faultsServed;
      servedAtRequest = modelRequests();
      nextGap = gap();
      // Clean requests that slip through while a fault waits to be queued would push the rate
      // below the target: when behind by more than a fault, the next gap is halved.
      if (rate * servedAtRequest - served > 1) nextGap = Math.floor(nextGap / 2);
    }
    if (injected === served && modelRequests() - servedAtRequest >= nextGap) {
      const k = kind();
      h.simulator.injectFaults([FAULTS[k]]);
      byKind[k] += 1;
      injected += 1;
    }
  }, 2);
  return {
    stop: () => clearInterval(timer),
    /** Faults injected by kind (the last one may still be queued). */
    byKind: () => ({ ...byKind }),
  };
}

function startRssSampler() {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 250);
  return {
    stop: () => clearInterval(timer),
    peakMiB: () => Math.round(Math.max(peak, process.resourceUsage().maxRSS * 1024) / 2 ** 20),
  };
}

interface RunOutcome {
  workflowId: string;
  status: RunResult['status'] | 'open' | 'error';
  correct: boolean;
  turns: number;
  runsInChain: number;
  seconds?: number;
  error?: string;
}

type AuditHandle = WorkflowHandleWithFirstExecutionRunId<AgentRunWorkflow>;

/** Model calls that needed more than one attempt, and the failed attempts in all, from the run's histories. */
async function modelRetries(client: Awaited<ReturnType<typeof connectHistoryReader>>, handle: AuditHandle) {
  const chain = await fetchRunChain(client, handle.workflowId, handle.firstExecutionRunId);
  let calls = 0;
  let retried = 0;
  let failedAttempts = 0;
  let maxAttempt = 0;
  for (const run of chain) {
    const names = new Map<string, string>();
    for (const event of run.events) {
      const scheduled = event.activityTaskScheduledEventAttributes;
      if (scheduled) names.set(String(event.eventId), scheduled.activityType?.name ?? '');
      const started = event.activityTaskStartedEventAttributes;
      if (started && names.get(String(started.scheduledEventId)) === MODEL_ACTIVITY) {
        const attempt = started.attempt ?? 1;
        calls += 1;
        if (attempt > 1) retried += 1;
        failedAttempts += attempt - 1;
        maxAttempt = Math.max(maxAttempt, attempt);
      }
    }
  }
  return { calls, retried, failedAttempts, maxAttempt, runsInChain: chain.length };
}

const pad = (s: string | number, n: number) => String(s).padEnd(n);

/**
 * Every injected fault makes the worker log an "Activity failed" warning with a stack; hundreds of
 * them would bury the table. Those of retryable model failures are counted instead; every other
 * warning still shows. (The harness installs the runtime's logger, so this wraps it.)
 */
function quietRetryableModelFailures(): () => number {
  const logger = Runtime.instance().logger;
  const log = logger.log.bind(logger);
  let quieted = 0;
  logger.log = (level, message, meta) => {
    const error = meta?.error as { type?: string; nonRetryable?: boolean } | undefined;
    if (
      message === 'Activity failed' &&
      meta?.activityType === MODEL_ACTIVITY &&
      error?.type?.startsWith('Model') &&
      error.nonRetryable === false
    ) {
      quieted += 1;
      return;
    }
    log(level, message, meta);
  };
  return () => quieted;
}

async function main(): Promise<void> {
  const plan = PLANS[process.argv.includes('--quick') ? 'quick' : 'full'];
  const random = mulberry32(SEED);
  const expected = auditReport(plan.files, auditGroundTruth(plan.files));
  process.env.TEMPORAL_CLI = ensureTemporalCli(log);
  log(
    `soak (${plan.mode}): ${plan.runs} runs x ${plan.files + 1} turns, fault rate ${plan.faultRate}, seed 0x${SEED.toString(16)}`,
  );

  const h = await startHarness();
  const quieted = quietRetryableModelFailures();
  const rss = startRssSampler();
  let injector: ReturnType<typeof startFaultInjector> | undefined;
  try {
    const worker = await h.startWorker();
    const outcomes = new Map<string, RunOutcome>();
    const handles: AuditHandle[] = [];
    const started = Date.now();
    let wallSeconds = 0;

    await worker.runUntil(async () => {
      injector = startFaultInjector(h, plan.faultRate, random);
      for (let i = 0; i < plan.runs; i++) {
        const { handle } = await startAudit(h, `soak-${String(i).padStart(2, '0')}`, plan.files);
        handles.push(handle);
        outcomes.set(handle.workflowId, {
          workflowId: handle.workflowId,
          status: 'open',
          correct: false,
          turns: 0,
          runsInChain: 0,
        });
      }
      log(`started ${handles.length} runs`);
      const progressLog = setInterval(() => {
        const done = [...outcomes.values()].filter((o) => o.status !== 'open').length;
        const s = h.simulator.stats();
        log(
          `  ${((Date.now() - started) / 1000).toFixed(0)} s: ${done}/${plan.runs} closed, ${s.messages} model replies, ${s.faultsServed} faults`,
        );
      }, 15_000);
      const all = Promise.all(
        handles.map((handle) =>
          handle.result().then(
            (result) => {
              outcomes.set(handle.workflowId, {
                workflowId: handle.workflowId,
                status: result.status,
                correct: result.status === 'completed' && result.report === expected,
                turns: result.counters.turn,
                runsInChain: result.chain.runNumber,
                seconds: (Date.now() - started) / 1000,
              });
            },
            (err: unknown) => {
              outcomes.set(handle.workflowId, {
                ...outcomes.get(handle.workflowId)!,
                status: 'error',
                error: String(err),
              });
            },
          ),
        ),
      );
      const deadline = new AbortController();
      await Promise.race([all, sleep(plan.deadlineMs, undefined, { signal: deadline.signal }).catch(() => {})]);
      deadline.abort();
      wallSeconds = (Date.now() - started) / 1000;
      clearInterval(progressLog);
      injector.stop();

      // Whatever is still open at the deadline: where it stands, while the worker still answers queries.
      for (const outcome of outcomes.values()) {
        if (outcome.status !== 'open') continue;
        const handle = h.env.client.workflow.getHandle(outcome.workflowId);
        const progress = await h.env.client.connection
          .withDeadline(Date.now() + 10_000, () => handle.query(progressQuery))
          .catch(() => undefined);
        outcome.turns = progress?.counters.turn ?? 0;
        outcome.error = progress
          ? `open: ${progress.status} at turn ${progress.counters.turn}${progress.escalation ? `, escalation ${progress.escalation.kind}` : ''}`
          : 'open: no answer to the progress query';
      }
    });

    log('reading histories');
    const client = await connectHistoryReader(h.env.address);
    const retries = { calls: 0, retried: 0, failedAttempts: 0, maxAttempt: 0 };
    for (const handle of handles) {
      const r = await modelRetries(client, handle);
      retries.calls += r.calls;
      retries.retried += r.retried;
      retries.failedAttempts += r.failedAttempts;
      retries.maxAttempt = Math.max(retries.maxAttempt, r.maxAttempt);
    }
    await client.connection.close();

    const list = [...outcomes.values()];
    const completed = list.filter((o) => o.status === 'completed').length;
    const correct = list.filter((o) => o.correct).length;
    const turns = list.reduce((n, o) => n + o.turns, 0);
    const stats = h.simulator.stats();
    const modelRequests = stats.messages + stats.faultsServed;
    const data = {
      date: new Date().toISOString(),
      machine: describeMachine(),
      plan,
      seed: SEED,
      runs: plan.runs,
      completed,
      correctReports: correct,
      turns,
      wallSeconds: Math.round(wallSeconds * 10) / 10,
      turnsPerSecond: Math.round((turns / wallSeconds) * 10) / 10,
      simulator: stats,
      faults: {
        served: stats.faultsServed,
        requests: stats.requests,
        modelRequests,
        rateOfRequests: Math.round((stats.faultsServed / stats.requests) * 1000) / 1000,
        rateOfModelRequests: Math.round((stats.faultsServed / modelRequests) * 1000) / 1000,
        injectedByKind: injector?.byKind(),
      },
      modelCalls: { ...retries, failureWarningsQuieted: quieted() },
      workerPeakRssMiB: rss.peakMiB(),
      notOk: list.filter((o) => !o.correct),
    };

    const rows: [string, string][] = [
      ['runs', String(data.runs)],
      ['completed (correct report)', `${completed} (${correct})`],
      ['turns', String(turns)],
      ['wall time', `${data.wallSeconds} s`],
      ['turns/s', String(data.turnsPerSecond)],
      [
        'faults served / requests',
        `${stats.faultsServed} / ${stats.requests} (${(data.faults.rateOfRequests * 100).toFixed(1)}%)`,
      ],
      [
        'faults served / model requests',
        `${stats.faultsServed} / ${modelRequests} (${(data.faults.rateOfModelRequests * 100).toFixed(1)}%)`,
      ],
      [
        'faults by kind (injected)',
        Object.entries(data.faults.injectedByKind ?? {})
          .map(([k, v]) => `${k}: ${v}`)
          .join(', '),
      ],
      ['model calls (activities)', String(retries.calls)],
      [
        'model calls retried',
        `${retries.retried} (${retries.failedAttempts} failed attempts, max attempt ${retries.maxAttempt})`,
      ],
      ['worker peak RSS', `${data.workerPeakRssMiB} MiB (the one process: worker, simulator, client)`],
    ];
    const width = Math.max(...rows.map(([k]) => k.length)) + 2;
    const out = [`soak (${plan.mode}), ${machineLine(data.machine)}`, ...rows.map(([k, v]) => `${pad(k, width)}${v}`)];
    for (const o of data.notOk)
      out.push(`NOT OK ${o.workflowId}: ${o.status}, turn ${o.turns}${o.error ? `, ${o.error}` : ''}`);
    process.stdout.write(`${out.join('\n')}\n`);

    const resultsDir = fileURLToPath(new URL('./results/', import.meta.url));
    const file = join(resultsDir, plan.mode === 'quick' ? 'soak-quick.json' : 'soak.json');
    await mkdir(resultsDir, { recursive: true });
    await writeFile(file, `${JSON.stringify(data, null, 2)}\n`);
    log(`wrote ${file}`);
    if (correct !== plan.runs) process.exitCode = 1;
  } finally {
    injector?.stop();
    rss.stop();
    await h.close();
  }
}

await main();
