/**
 * Cluster benchmark (`npm run bench:cluster`, `--quick` for a smoke run): on a real Temporal
 * cluster (server 1.32.0 on PostgreSQL: a frontend, 2 history, 2 matching and the worker service
 * as processes) with longhaul workers on hosts made of namespaces (test/cluster/site.ts):
 * - the 250-turn audit across 3 hosts while hosts are lost (every process SIGKILLed) in a model
 *   call and just after a model reply (inside the workflow task that follows), each history and
 *   matching service is SIGKILLed and restarted, and PostgreSQL is restarted: kill to the run's
 *   next completed model call, with the run's heartbeat and workflow-task timeouts at 2 s and at
 *   their defaults (5 s, 10 s);
 * - throughput: 100 audits started at once on 3 hosts against 1 (and on 3 at 2 s timeouts).
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
  // Both timeouts at 2 s, and at their defaults (RunOptions: 5 s and 10 s).
  for (const [heartbeat, workflowTask] of [
    [2_000, 2_000],
    [5_000, 10_000],
  ] as const) {
    log(`host loss: ${plan.files}-file audit, heartbeat timeout ${heartbeat} ms, workflow task ${workflowTask} ms`);
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
        '--workflow-task-timeout-ms',
        String(workflowTask),
      ]),
    );
  }
  const throughput: ThroughputOutcome[] = [];
  // At the defaults on 3 hosts and on 1; and at 2 s on 3 hosts, which saturate the machine.
  for (const [hosts, timeouts] of [
    [3, []],
    [1, []],
    [3, ['--heartbeat-timeout-ms', '2000', '--workflow-task-timeout-ms', '2000']],
  ] as const) {
    log(`throughput: ${plan.runs} audits of ${plan.runFiles} files on ${hosts} hosts ${timeouts.join(' ')}`);
    throughput.push(
      await runScenario<ThroughputOutcome>('throughput', [
        '--runs',
        String(plan.runs),
        '--hosts',
        String(hosts),
        '--files',
        String(plan.runFiles),
        ...timeouts,
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
