/**
 * History size benchmark (`npm run bench:history`, `--quick` for a smoke run): Temporal history per
 * turn of a naive design that passes the whole conversation to every model call, against longhaul,
 * which passes a transcript reference; then the history of one long longhaul run, run by run.
 * One dev server, one simulator, one process. Tables go to stdout, the same data to bench/results/.
 */
import type { WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { DEFAULT_MODEL } from '../common/models.js';
import { NativeConnection } from '@temporalio/worker';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DirectoryStore } from '../store/directory-store.js';
import { ensureTemporalCli } from '../scripts/temporal-cli.mjs';
import { auditTask, writeAuditWorkspace } from '../simulator/scenarios/audit.js';
import { startAudit } from '../test/helpers/audit-run.js';
import { startHarness, type Harness } from '../test/helpers/harness.js';
import { createAnthropic } from '../worker/create.js';
import type { RunResult } from '../common/messages.js';
import { RunOptions } from '../common/options.js';
import { connectHistoryReader, fetchRunChain } from './measure/run-chain.js';
import { settle, type Settled } from './measure/settle.js';
import { summarizeGrowth, summarizeLongRun } from './measure/summaries.js';
import type { NaiveRunResult, naiveAuditRun } from './naive/workflow.js';
import { createNaiveWorker } from './naive/worker.js';
import { PLANS, type Plan } from './plan.js';
import { historyReport } from './report/history-tables.js';
import { describeMachine } from './report/machine.js';

const MODEL = DEFAULT_MODEL;
const LONGHAUL_MODEL_ACTIVITY = 'callModel';
const NAIVE_MODEL_ACTIVITY = 'callModelInline';
// A cap reached in an unattended benchmark must end the run, not wait a day for a person.
const UNATTENDED = { escalation: { onCap: 'stop' as const } };

const log = (line: string) => process.stderr.write(`${line}\n`);

async function startNaive(
  h: Harness,
  taskQueue: string,
  files: number,
): Promise<WorkflowHandleWithFirstExecutionRunId> {
  const workspace = join(h.dir, 'naive');
  await writeAuditWorkspace(workspace, files);
  // The naive run gets longhaul's defaults, so both send the model the same prompt.
  const defaults = RunOptions.parse({ task: auditTask(files), workspace, model: MODEL });
  return h.env.client.workflow.start<typeof naiveAuditRun>('naiveAuditRun', {
    taskQueue,
    workflowId: `naive-growth-${Date.now()}`,
    args: [
      {
        task: defaults.task,
        workspace,
        model: defaults.model,
        maxTurns: files + 50,
        maxOutputTokens: defaults.maxOutputTokens,
        systemPrompt: defaults.systemPrompt,
      },
    ],
  });
}

/** Starts the three runs at once and waits for all of them, with both workers polling meanwhile. */
async function runAll(h: Harness, plan: Plan) {
  // The report gives the payload sizes; past 512 KiB the SDK would also print a warning every turn.
  const naiveConnection = await NativeConnection.connect({
    address: h.env.address,
    payloadLimits: { payloadsWarnSize: 0 },
  });
  try {
    const naiveQueue = `${h.taskQueue}-naive`;
    const naiveWorker = await createNaiveWorker({
      connection: naiveConnection,
      taskQueue: naiveQueue,
      anthropic: createAnthropic({ ANTHROPIC_BASE_URL: h.simulator.url }),
      store: new DirectoryStore(h.storeDir),
    });
    const longhaulWorker = await h.startWorker();

    log(
      `starting: naive and longhaul audits of ${plan.growthFiles} files without compaction, and a ${plan.longFiles}-file longhaul audit`,
    );
    const naive = await startNaive(h, naiveQueue, plan.growthFiles);
    const { handle: longhaul } = await startAudit(h, 'longhaul-growth', plan.growthFiles, {
      model: MODEL,
      compaction: { enabled: false },
      ...UNATTENDED,
    });
    const { handle: long } = await startAudit(h, 'longhaul-long', plan.longFiles, {
      model: MODEL,
      maxTurns: plan.longMaxTurns,
      compaction: { enabled: true, trigger: plan.longTrigger },
      ...UNATTENDED,
    });
    const announce =
      <R>(name: string) =>
      (s: Settled<R>) => {
        log(`${name}: ${s.outcome} after ${s.seconds} s`);
        return s;
      };
    const [naiveSettled, longhaulSettled, longSettled] = await naiveWorker.runUntil(
      longhaulWorker.runUntil(
        Promise.all([
          settle<NaiveRunResult>(naive, plan.deadlineMs).then(announce('naive')),
          settle<RunResult>(longhaul, plan.deadlineMs).then(announce('longhaul')),
          settle<RunResult>(long, plan.deadlineMs).then(announce(`longhaul ${plan.longFiles} files`)),
        ]),
      ),
    );
    return {
      naive: { handle: naive, settled: naiveSettled },
      longhaul: { handle: longhaul, settled: longhaulSettled },
      long: { handle: long, settled: longSettled },
    };
  } finally {
    await naiveConnection.close();
  }
}

async function main(): Promise<void> {
  const plan = PLANS[process.argv.includes('--quick') ? 'quick' : 'full'];
  const started = Date.now();
  // The harness reads the binary's path from the environment, as the test setup provides it.
  process.env.TEMPORAL_CLI = ensureTemporalCli(log);
  const h = await startHarness();
  try {
    const runs = await runAll(h, plan);

    log('fetching histories');
    const client = await connectHistoryReader(h.env.address);
    const chainOf = ({ handle }: { handle: WorkflowHandleWithFirstExecutionRunId }) =>
      fetchRunChain(client, handle.workflowId, handle.firstExecutionRunId);
    const naive = summarizeGrowth(
      'naive',
      await chainOf(runs.naive),
      NAIVE_MODEL_ACTIVITY,
      plan.targets,
      runs.naive.settled,
    );
    const longhaul = summarizeGrowth(
      'longhaul',
      await chainOf(runs.longhaul),
      LONGHAUL_MODEL_ACTIVITY,
      plan.targets,
      runs.longhaul.settled,
    );
    const longRun = summarizeLongRun(
      runs.long.handle.workflowId,
      await chainOf(runs.long),
      LONGHAUL_MODEL_ACTIVITY,
      runs.long.settled,
    );
    await client.connection.close();

    const data = {
      date: new Date().toISOString(),
      seconds: Math.round((Date.now() - started) / 1000),
      machine: describeMachine(),
      plan,
      naive,
      longhaul,
      longRun,
    };
    process.stdout.write(`${historyReport(data)}\n`);
    const resultsDir = fileURLToPath(new URL('./results/', import.meta.url));
    const file = join(resultsDir, plan.mode === 'quick' ? 'history-quick.json' : 'history.json');
    await mkdir(resultsDir, { recursive: true });
    await writeFile(file, `${JSON.stringify(data, null, 2)}\n`);
    log(`wrote ${file}`);
  } finally {
    await h.close();
  }
}

await main();
