import type { HostLossOutcome } from '../../test/cluster/host-loss.js';
import type { ThroughputOutcome } from '../../test/cluster/throughput.js';
import { machineLine, type Machine } from './machine.js';
import { integer, markdownTable } from './markdown.js';

export interface ClusterData {
  date: string;
  seconds: number;
  machine: Machine;
  mode: string;
  recovery: HostLossOutcome[];
  throughput: ThroughputOutcome[];
}

/** Issue 17's target: kill to next completed model call at most 3 s at the median. */
export const TARGET_MEDIAN_MS = 3_000;

const s = (ms: number | null) => (ms === null ? 'never' : `${(ms / 1000).toFixed(2)} s`);
/** The two timeouts a lost worker costs: heartbeat / workflow task. */
const timeouts = (r: HostLossOutcome) => `${s(r.heartbeatTimeoutMs)} / ${s(r.workflowTaskTimeoutMs ?? 10_000)}`;

export function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function runTable(runs: HostLossOutcome[]): string {
  return markdownTable(
    [
      'timeouts (heartbeat / workflow task)',
      'outcome',
      'report correct',
      'turns',
      'writes (expected)',
      'written twice',
      'hosts used',
      'wall time',
    ],
    runs.map((r) => [
      timeouts(r),
      r.status,
      r.reportCorrect ? 'yes' : 'NO',
      integer(r.turns),
      `${r.writes} (${r.expectedWrites})`,
      r.duplicateWrites.length,
      r.hostsUsed.join(', '),
      s(r.wallMs),
    ]),
  );
}

function recoveryTable(runs: HostLossOutcome[]): string {
  const kinds = [...new Set(runs.flatMap((r) => r.disruptions.map((d) => d.what)))];
  return markdownTable(
    ['disruption', ...runs.flatMap((r) => [`n (${timeouts(r)})`, `median`, `each (what timed out)`])],
    kinds.map((what) => [
      what,
      ...runs.flatMap((r) => {
        const ds = r.disruptions.filter((d) => d.what === what);
        const times = ds.flatMap((d) => (d.recoveryMs === null ? [] : [d.recoveryMs]));
        return [
          ds.length,
          s(median(times)),
          ds.map((d) => `${s(d.recoveryMs)}${d.timedOut ? ` (${d.timedOut})` : ''}`).join('; '),
        ];
      }),
    ]),
  );
}

function throughputTable(runs: ThroughputOutcome[]): string {
  return markdownTable(
    [
      'hosts',
      'timeouts (heartbeat / workflow task)',
      'runs',
      'completed',
      'correct reports',
      'turns',
      'wall time',
      'turns/s',
      'median run',
      'slowest run',
      'workflow tasks timed out',
      'activities retried',
    ],
    runs.map((r) => [
      r.hosts,
      `${s(r.timeouts?.heartbeatTimeoutMs ?? 5_000)} / ${s(r.timeouts?.workflowTaskTimeoutMs ?? 10_000)}`,
      r.runs,
      r.completed,
      r.correctReports,
      integer(r.turns),
      s(r.wallMs),
      r.turnsPerSecond,
      `${r.medianRunSeconds.toFixed(1)} s`,
      `${r.slowestRunSeconds.toFixed(1)} s`,
      r.workflowTaskTimeouts ?? '-',
      r.retriedActivities ?? '-',
    ]),
  );
}

export function clusterReport(d: ClusterData): string {
  const hostLosses = (r: HostLossOutcome) =>
    r.disruptions.filter((x) => x.host && x.recoveryMs !== null).map((x) => x.recoveryMs!);
  const verdicts = d.recovery.map((r) => {
    const m = median(hostLosses(r));
    return `timeouts ${timeouts(r)}: median over ${hostLosses(r).length} host losses ${s(m)} (${m !== null && m <= TARGET_MEDIAN_MS ? 'within' : 'over'} ${s(TARGET_MEDIAN_MS)})`;
  });
  return [
    '# Cluster: a real Temporal cluster on PostgreSQL, workers on hosts made of namespaces',
    '',
    `${d.date}, ${d.mode} mode, ${d.seconds} s; ${machineLine(d.machine)}.`,
    '',
    '## The audit while hosts and services are lost',
    '',
    runTable(d.recovery),
    '',
    '## Kill to the next completed model call',
    '',
    recoveryTable(d.recovery),
    '',
    ...verdicts.map((v) => `- ${v}`),
    '',
    '## Throughput',
    '',
    throughputTable(d.throughput),
  ].join('\n');
}
