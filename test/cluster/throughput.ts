/**
 * Throughput on the real cluster (test/cluster/site.ts): `--runs` audits of `--files` files each,
 * started at once, on `--hosts` worker hosts. Run as root inside a network namespace of its own:
 * `unshare --net --fork node --import tsx test/cluster/throughput.ts --runs 100 --hosts 3
 * [--heartbeat-timeout-ms MS] [--workflow-task-timeout-ms MS]`
 * (bench/cluster.ts does). Prints progress on stderr and, last on stdout, one line of JSON
 * (ThroughputOutcome).
 */
import { auditGroundTruth, auditReport } from '../../simulator/scenarios/audit.js';
import { startAuditOn } from '../helpers/audit-run.js';
import { chainHistories, printOutcome, scenarioArg, startSite } from './site.js';

export interface ThroughputOutcome {
  runs: number;
  hosts: number;
  files: number;
  completed: number;
  correctReports: number;
  turns: number;
  wallMs: number;
  turnsPerSecond: number;
  /** Seconds from the start of all runs to each run's end: the median and the slowest. */
  medianRunSeconds: number;
  slowestRunSeconds: number;
  /** Over all runs' chains: workflow tasks that timed out, and activity attempts after the first (work done again). */
  workflowTaskTimeouts: number;
  retriedActivities: number;
  /** The run options given (absent: the defaults, 5 s and 10 s). */
  timeouts: { heartbeatTimeoutMs?: number; workflowTaskTimeoutMs?: number };
}

const RUNS = scenarioArg('runs', 100);
const HOSTS = scenarioArg('hosts', 3);
const FILES = scenarioArg('files', 20);
// The run options of the two timeouts a lost worker costs (RunOptions); their defaults unless given.
const TIMEOUTS = {
  ...(process.argv.includes('--heartbeat-timeout-ms')
    ? { heartbeatTimeoutMs: scenarioArg('heartbeat-timeout-ms', 0) }
    : {}),
  ...(process.argv.includes('--workflow-task-timeout-ms')
    ? { workflowTaskTimeoutMs: scenarioArg('workflow-task-timeout-ms', 0) }
    : {}),
};
const log = (line: string) => process.stderr.write(`[throughput] ${line}\n`);

async function main(): Promise<ThroughputOutcome> {
  const site = await startSite({ latencyMs: 200, log });
  try {
    const taskQueue = 'throughput';
    await site.startHosts(
      Array.from({ length: HOSTS }, (_, i) => `host-${String.fromCharCode(97 + i)}`),
      taskQueue,
    );
    const target = { client: site.client, taskQueue, dir: site.dir };
    const began = Date.now();
    const handles = await Promise.all(
      Array.from({ length: RUNS }, (_, i) =>
        startAuditOn(target, `throughput-${i}`, FILES, TIMEOUTS).then((r) => r.handle),
      ),
    );
    log(`${RUNS} audits of ${FILES} files started on ${HOSTS} hosts`);
    const ends = await Promise.all(
      handles.map(async (h) => {
        const result = await h.result();
        return { result, seconds: (Date.now() - began) / 1000 };
      }),
    );
    const wallMs = Date.now() - began;
    const expected = auditReport(FILES, auditGroundTruth(FILES));
    const turns = ends.reduce((n, e) => n + e.result.counters.turn, 0);
    const seconds = ends.map((e) => e.seconds).sort((a, b) => a - b);
    log(`done in ${(wallMs / 1000).toFixed(1)} s: ${turns} turns`);
    let workflowTaskTimeouts = 0;
    let retriedActivities = 0;
    for (const handle of handles) {
      for await (const events of chainHistories(site.client, handle)) {
        for (const e of events) {
          if (e.workflowTaskTimedOutEventAttributes) workflowTaskTimeouts += 1;
          if ((e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1) retriedActivities += 1;
        }
      }
    }
    return {
      runs: RUNS,
      hosts: HOSTS,
      files: FILES,
      completed: ends.filter((e) => e.result.status === 'completed').length,
      correctReports: ends.filter((e) => e.result.report === expected).length,
      turns,
      wallMs,
      turnsPerSecond: Math.round((turns / (wallMs / 1000)) * 10) / 10,
      medianRunSeconds: seconds[Math.floor(seconds.length / 2)]!,
      slowestRunSeconds: seconds.at(-1)!,
      workflowTaskTimeouts,
      retriedActivities,
      timeouts: TIMEOUTS,
    };
  } finally {
    await site.close();
  }
}

await printOutcome(main);
