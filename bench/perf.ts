/**
 * Performance benchmark (`npm run bench:perf`, `--quick` for a smoke run): per-turn overhead of a
 * longhaul run against a plain loop over the same activities, recovery after a worker is killed,
 * throughput of 100 concurrent runs, and input tokens with and without compaction. One dev server
 * and its simulators, in one process, configured as longhaul ships it (eager activity execution on,
 * as in scripts/demo.sh and docker-compose.yml); then, as an extra variant, the overhead and the
 * throughput again on a dev server with its default config. Tables go to stdout (progress to
 * stderr), the same data to bench/results/perf.json (perf-quick.json). Figures are reported,
 * never asserted.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureTemporalCli, TEMPORAL_CLI_VERSION } from '../scripts/temporal-cli.mjs';
import { startHarness, type Harness } from '../test/helpers/harness.js';
import { writeWorkflowBundle } from '../worker/bundle.js';
import { harnessLane, startLane, type Lane } from './perf/lanes.js';
import { measureOverhead, type OverheadResult } from './perf/overhead.js';
import { PERF_PLANS, type PerfPlan } from './perf/plan.js';
import { measureRecovery, type RecoveryCase } from './perf/recovery.js';
import { log } from './perf/runs.js';
import { measureThroughput, type ThroughputResult } from './perf/throughput.js';
import { measureTokens, type TokenVariant } from './perf/tokens.js';
import { describeMachine, machineLine } from './report/machine.js';
import {
  overheadSummaryTable,
  overheadTable,
  recoveryTable,
  recoveryTimelines,
  stepsTable,
  throughputTable,
  tokensTable,
} from './report/perf-tables.js';

/** The server setting longhaul ships with (scripts/demo.sh, deploy/temporal-dynamic-config.yaml). */
const SHIPPED = {
  'system.enableActivityEagerExecution': true,
  'limit.blobSize.error': 1024 * 1024,
  'limit.blobSize.warn': 256 * 1024,
};

async function serverVersion(h: Harness): Promise<string> {
  const info = await h.env.connection.workflowService.getSystemInfo({});
  return info.serverVersion ?? 'unknown';
}

/** Everything measured on the dev server configured as longhaul ships it. */
async function shippedServer(plan: PerfPlan) {
  const h = await startHarness({ dynamicConfig: SHIPPED });
  const lanes: Lane[] = [];
  try {
    const server = await serverVersion(h);
    const overhead = await measureOverhead(harnessLane(h), plan, 'shipped');
    const recovery = await measureRecovery(
      h,
      plan,
      overhead.longhaul.firstCompactionTurn ?? plan.fallbackCompactionTurn,
    );
    const slow = await startLane(h, 'latency', { latencyMs: plan.throughputLatencyMs });
    lanes.push(slow);
    const throughput = await measureThroughput(slow, plan, 'shipped');
    const large = await startLane(h, 'large-window', { contextWindowTokens: plan.largeContextWindow });
    lanes.push(large);
    const tokens = await measureTokens(harnessLane(h), large, plan);
    return { server, overhead, recovery, throughput, tokens };
  } finally {
    for (const lane of lanes) await lane.close();
    await h.close();
  }
}

/** The extra variant: the same overhead and throughput on a dev server with its default config. */
async function defaultConfigServer(plan: PerfPlan) {
  const h = await startHarness();
  let slow: Lane | undefined;
  try {
    const overhead = await measureOverhead(harnessLane(h), plan, 'default');
    slow = await startLane(h, 'latency', { latencyMs: plan.throughputLatencyMs });
    const throughput = await measureThroughput(slow, plan, 'default');
    return { overhead, throughput };
  } finally {
    await slow?.close();
    await h.close();
  }
}

function report(r: {
  machine: ReturnType<typeof describeMachine>;
  load: { start: number[]; end: number[] };
  date: string;
  seconds: number;
  plan: PerfPlan;
  server: string;
  overhead: OverheadResult;
  recovery: RecoveryCase[];
  throughput: ThroughputResult;
  tokens: TokenVariant[];
  defaultConfig?: { overhead: OverheadResult; throughput: ThroughputResult };
}): string {
  const SHIPPED_LABEL = 'as shipped (eager activities)';
  const DEFAULT = 'default config';
  const overheads = [
    { label: SHIPPED_LABEL, r: r.overhead },
    ...(r.defaultConfig ? [{ label: DEFAULT, r: r.defaultConfig.overhead }] : []),
  ];
  const throughputs = [
    { label: SHIPPED_LABEL, r: r.throughput },
    ...(r.defaultConfig ? [{ label: DEFAULT, r: r.defaultConfig.throughput }] : []),
  ];
  return [
    machineLine(r.machine),
    `dev server: Temporal CLI ${TEMPORAL_CLI_VERSION}, server ${r.server}; date: ${r.date}, mode: ${r.plan.mode}, runtime: ${r.seconds} s`,
    `load average (1/5/15 min) at start: ${r.load.start.join(' / ')}, at end: ${r.load.end.join(' / ')} (other processes share the machine)`,
    '',
    `### Per-turn overhead (audit of ${r.overhead.files} files, compaction trigger ${r.plan.trigger}, zero model latency)`,
    '',
    overheadTable(overheads),
    '',
    overheadSummaryTable(overheads),
    '',
    '### Where a longhaul turn goes (history timestamps; median / p90 / p99 ms, samples)',
    '',
    stepsTable([
      ...overheads.map((o) => ({ label: `overhead run, ${o.label}`, steps: o.r.longhaul.steps })),
      ...throughputs.map((t) => ({ label: `throughput runs, ${t.label}`, steps: t.r.steps })),
    ]),
    '',
    '### Recovery after SIGKILL of a child-process worker',
    '',
    recoveryTable(r.recovery),
    '',
    'History after each kill (server event times, ms after the kill):',
    '',
    '```text',
    recoveryTimelines(r.recovery),
    '```',
    '',
    `### Throughput (${r.plan.throughputRuns} concurrent runs, one in-process worker)`,
    '',
    throughputTable(throughputs),
    '',
    `### Tokens (audit of ${r.plan.tokenFiles} files)`,
    '',
    tokensTable(r.tokens),
  ].join('\n');
}

async function main(): Promise<void> {
  const plan = PERF_PLANS[process.argv.includes('--quick') ? 'quick' : 'full'];
  const started = Date.now();
  const loadAtStart = loadavg();
  process.env.TEMPORAL_CLI = ensureTemporalCli(log);
  // One bundle for every worker, in-process and spawned (the harness passes the environment on).
  const scratch = await mkdtemp(join(tmpdir(), 'longhaul-perf-'));
  try {
    log('bundling the workflow code');
    process.env.LONGHAUL_WORKFLOW_BUNDLE = await writeWorkflowBundle(join(scratch, 'workflow-bundle.js'));
    const main = await shippedServer(plan);
    const defaultConfig = plan.defaultConfigVariant ? await defaultConfigServer(plan) : undefined;
    const data = {
      date: new Date().toISOString(),
      seconds: Math.round((Date.now() - started) / 1000),
      machine: describeMachine(),
      /** The machine's 1/5/15-minute load averages: other processes share the 2 cores. */
      load: {
        start: loadAtStart.map((l) => Math.round(l * 100) / 100),
        end: loadavg().map((l) => Math.round(l * 100) / 100),
      },
      plan,
      ...main,
      ...(defaultConfig ? { defaultConfig } : {}),
    };
    process.stdout.write(`${report(data)}\n`);
    const resultsDir = fileURLToPath(new URL('./results/', import.meta.url));
    const file = join(resultsDir, plan.mode === 'quick' ? 'perf-quick.json' : 'perf.json');
    await mkdir(resultsDir, { recursive: true });
    await writeFile(file, `${JSON.stringify(data, null, 2)}\n`);
    log(`wrote ${file}`);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

await main();
