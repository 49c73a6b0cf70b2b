/**
 * Cluster benchmark (`npm run bench:cluster`, `--quick` for a smoke run): on a real Temporal
 * cluster (server 1.32.0 on PostgreSQL: a frontend, 2 history, 2 matching and the worker service
 * as processes) with longhaul workers on hosts made of namespaces (test/cluster/site.ts):
 * - the 250-turn audit across 3 hosts while hosts are lost (every process SIGKILLed) in a model
 *   call and just after a model reply (inside the workflow task that follows), each history and
 *   matching service is SIGKILLed and restarted, and PostgreSQL is restarted: kill to the run's
 *   next completed model call, at the run's heartbeat timeout of 2 s and at the default 5 s;
 * - throughput: 100 audits started at once on 3 hosts against 1.
 * Each scenario runs in a network namespace of its own (needs root). Tables go to stdout, the
 * same data to bench/results/cluster.json.
 */
import type { HostLossOutcome } from '../test/cluster/host-loss.js';
import { runScenario } from '../test/cluster/run-scenario.js';
import type { ThroughputOutcome } from '../test/cluster/throughput.js';
import { ensureTemporalServer } from '../scripts/temporal-server.mjs';
import { log } from './perf/runs.js';
import { clusterReport } from './report/cluster-tables.js';
import { describeMachine } from './report/machine.js';
import { writeResults } from './report/results-file.js';

const PLANS = {
  full: { files: 249, hostKills: 5, afterReplyKills: 5, runs: 100, runFiles: 20 },
  quick: { files: 60, hostKills: 2, afterReplyKills: 2, runs: 10, runFiles: 10 },
};

async function main(): Promise<void> {
  const mode = process.argv.includes('--quick') ? 'quick' : 'full';
  const plan = PLANS[mode];
  const began = Date.now();
  ensureTemporalServer(log);
  const recovery: HostLossOutcome[] = [];
  for (const heartbeat of [2_000, 5_000]) {
    log(`host loss: ${plan.files}-file audit, heartbeat timeout ${heartbeat} ms`);
    recovery.push(
      await runScenario<HostLossOutcome>('host-loss', [
        '--files',
        String(plan.files),
        '--host-kills',
        String(plan.hostKills),
        '--after-reply-kills',
        String(plan.afterReplyKills),
        '--heartbeat-timeout-ms',
        String(heartbeat),
      ]),
    );
  }
  const throughput: ThroughputOutcome[] = [];
  for (const hosts of [3, 1]) {
    log(`throughput: ${plan.runs} audits of ${plan.runFiles} files on ${hosts} hosts`);
    throughput.push(
      await runScenario<ThroughputOutcome>('throughput', [
        '--runs',
        String(plan.runs),
        '--hosts',
        String(hosts),
        '--files',
        String(plan.runFiles),
      ]),
    );
  }
  const data = {
    date: new Date().toISOString(),
    seconds: Math.round((Date.now() - began) / 1000),
    machine: describeMachine(),
    mode,
    recovery,
    throughput,
  };
  process.stdout.write(`${clusterReport(data)}\n`);
  log(`wrote ${await writeResults(mode === 'quick' ? 'cluster-quick.json' : 'cluster.json', data)}`);
}

await main();
