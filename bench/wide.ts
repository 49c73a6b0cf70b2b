/**
 * Wide-run benchmark (`npm run bench:wide`, `--quick` for a smoke run): the wide audit
 * (simulator/scenarios/wide-audit.ts) of 2,000 files with 1 s of simulated model latency, by one
 * agent reading 10 files a reply, against a parent that delegates the files to 8 sub-agents (child
 * workflows) reading 10 a reply each. One dev server, one simulator, one worker in this process;
 * the two audits run one after the other. Wall time, turns, tokens, cost and the history of every
 * Temporal run go to stdout as tables, the same data to bench/results/.
 */
import type { Client } from '@temporalio/client';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Counters } from '../common/counters.js';
import { progressQuery, type RunResult } from '../common/messages.js';
import { DEFAULT_MODEL } from '../common/models.js';
import { ensureTemporalCli } from '../scripts/temporal-cli.mjs';
import { auditGroundTruth, auditReport } from '../simulator/scenarios/audit.js';
import { startHarness, type Harness } from '../test/helpers/harness.js';
import { agents, startBatchedAudit, startWideAudit } from '../test/helpers/wide-audit.js';
import { connectHistoryReader, fetchRunChain } from './measure/run-chain.js';
import { log, round, type AuditHandle } from './perf/runs.js';
import { describeMachine } from './report/machine.js';
import { writeResults } from './report/results-file.js';
import { wideReport, type WideRun, type TemporalRun } from './report/wide-tables.js';

const PLANS = {
  full: { files: 2_000, children: 8, latencyMs: 1_000 },
  quick: { files: 200, children: 8, latencyMs: 200 },
};

/** Every Temporal run of a workflow id's chain: its history's events and bytes as the server counts them. */
async function temporalRuns(reader: Client, workflowId: string, role: TemporalRun['role']): Promise<TemporalRun[]> {
  const first = await reader.workflow.getHandle(workflowId).describe();
  // The chain's first run: describe() without a run id gives the latest, whose firstRunId heads the chain.
  const firstRunId = first.raw.workflowExecutionInfo?.firstRunId ?? first.runId;
  const chain = await fetchRunChain(reader, workflowId, firstRunId);
  return chain.map((run, i) => ({
    role,
    workflowId,
    runInChain: i + 1,
    closedAs: run.closedAs,
    events: run.serverEvents,
    bytes: run.serverBytes ?? run.bytes,
  }));
}

/** Logs the run's progress every 15 s until it ends, so that a long benchmark shows it is moving. */
async function watch(handle: AuditHandle, label: string, done: () => boolean): Promise<void> {
  for (let second = 1; !done(); second++) {
    await sleep(1_000);
    if (done() || second % 15 !== 0) continue;
    const p = await handle.query(progressQuery).catch(() => undefined);
    if (p)
      log(
        `${label}: ${p.status}, turn ${p.counters.turn}${p.totals ? `, ${p.totals.turn} turns with its children` : ''}`,
      );
  }
}

async function measure(
  h: Harness,
  reader: Client,
  label: string,
  files: number,
  start: () => Promise<{ handle: AuditHandle }>,
): Promise<WideRun> {
  log(`${label}: start`);
  const began = Date.now();
  const { handle } = await start();
  let ended = false;
  const watching = watch(handle, label, () => ended);
  const result: RunResult = await handle.result().finally(() => (ended = true));
  const wallMs = Date.now() - began;
  await watching;
  const totals: Counters = result.totals ?? result.counters;
  const runs = await temporalRuns(reader, handle.workflowId, 'parent');
  for (const child of result.children ?? []) runs.push(...(await temporalRuns(reader, child.workflowId, 'child')));
  log(`${label}: ${result.status} in ${round(wallMs / 1000)} s, ${totals.turn} turns`);
  return {
    label,
    status: result.status,
    correctReport: result.report === auditReport(files, auditGroundTruth(files)),
    report: result.report ?? '',
    wallMs,
    turns: totals.turn,
    parentTurns: result.counters.turn,
    children: result.children?.length ?? 0,
    modelCalls: totals.modelCalls,
    inputTokens: totals.inputTokens + totals.compactionInputTokens,
    cacheReadTokens: totals.cacheReadTokens,
    cacheWriteTokens: totals.cacheWriteTokens,
    outputTokens: totals.outputTokens + totals.compactionOutputTokens,
    compactions: totals.compactions,
    usd: totals.costNanos / 1e9,
    unpricedCalls: totals.unpricedCalls,
    runs,
  };
}

async function main(): Promise<void> {
  const mode = process.argv.includes('--quick') ? 'quick' : 'full';
  const plan = PLANS[mode];
  const began = Date.now();
  process.env.TEMPORAL_CLI = ensureTemporalCli(log);
  const h = await startHarness({ simulator: { latencyMs: plan.latencyMs } });
  const reader = await connectHistoryReader(h.env.address);
  try {
    const worker = await h.startWorker({ agents });
    const target = { client: h.env.client, taskQueue: h.taskQueue, dir: h.dir };
    const model = { model: DEFAULT_MODEL };
    const [one, wide] = await worker.runUntil(async () => {
      const oneAgent = await measure(h, reader, 'one agent', plan.files, () =>
        startBatchedAudit(target, 'wide-bench-one', plan.files, model),
      );
      const parent = await measure(h, reader, `parent + ${plan.children} children`, plan.files, () =>
        startWideAudit(target, 'wide-bench-parent', plan.files, plan.children, model),
      );
      return [oneAgent, parent];
    });
    const data = {
      date: new Date().toISOString(),
      seconds: Math.round((Date.now() - began) / 1000),
      machine: describeMachine(),
      mode,
      model: DEFAULT_MODEL,
      ...plan,
      sameReport: one.report === wide.report,
      speedup: round(one.wallMs / wide.wallMs, 2),
      runs: [one, wide].map(({ report: _report, ...run }) => run),
    };
    process.stdout.write(`${wideReport(data)}\n`);
    log(`wrote ${await writeResults(mode === 'quick' ? 'wide-quick.json' : 'wide.json', data)}`);
  } finally {
    await reader.connection.close();
    await h.close();
  }
}

await main();
