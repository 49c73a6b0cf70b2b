import { machineLine, type Machine } from './machine.js';
import { bytes, integer, markdownTable } from './markdown.js';

/** One Temporal run (a workflow id's run of its continue-as-new chain) and its history. */
export interface TemporalRun {
  role: 'parent' | 'child';
  workflowId: string;
  runInChain: number;
  closedAs: string;
  events: number;
  bytes: number;
}

/** One audit, by one agent or by a parent and its children: totals over parent and children. */
export interface WideRun {
  label: string;
  status: string;
  correctReport: boolean;
  report: string;
  wallMs: number;
  turns: number;
  parentTurns: number;
  children: number;
  modelCalls: number;
  /** Uncached input, compaction's included. */
  inputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  outputTokens: number;
  compactions: number;
  usd: number;
  unpricedCalls: number;
  runs: TemporalRun[];
}

export interface WideData {
  date: string;
  seconds: number;
  machine: Machine;
  mode: string;
  model: string;
  files: number;
  children: number;
  latencyMs: number;
  sameReport: boolean;
  speedup: number;
  runs: Omit<WideRun, 'report'>[];
}

/** Issue 16's target: at least 5x faster with 8 children, the same report. */
export const TARGET_SPEEDUP = 5;

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

function auditTable(runs: WideData['runs']): string {
  return markdownTable(
    [
      'audit',
      'outcome',
      'report correct',
      'wall time',
      'turns (all runs)',
      'parent turns',
      'model calls',
      'compactions',
      'uncached input',
      'cache reads',
      'cache writes',
      'output',
      'cost',
      'Temporal runs',
    ],
    runs.map((r) => [
      r.label,
      r.status,
      r.correctReport ? 'yes' : 'NO',
      seconds(r.wallMs),
      integer(r.turns),
      integer(r.parentTurns),
      integer(r.modelCalls),
      integer(r.compactions),
      integer(r.inputTokens),
      integer(r.cacheReadTokens),
      integer(r.cacheWriteTokens),
      integer(r.outputTokens),
      r.unpricedCalls ? `unpriced (${r.unpricedCalls} calls)` : `$${r.usd.toFixed(2)}`,
      integer(r.runs.length),
    ]),
  );
}

/** Per workflow (one agent, the parent, each child): its chain's Temporal runs and their histories. */
function historyTable(runs: WideData['runs']): string {
  const rows = runs.flatMap((r) => {
    const byWorkflow = new Map<string, TemporalRun[]>();
    for (const t of r.runs) byWorkflow.set(t.workflowId, [...(byWorkflow.get(t.workflowId) ?? []), t]);
    return [...byWorkflow].map(([workflowId, chain]) => {
      const total = chain.reduce((n, t) => n + t.bytes, 0);
      return [
        r.label,
        `${chain[0]!.role} ${workflowId}`,
        chain.length,
        integer(chain.reduce((n, t) => n + t.events, 0)),
        bytes(total),
        bytes(total / chain.length),
        bytes(Math.max(...chain.map((t) => t.bytes))),
      ];
    });
  });
  return markdownTable(
    ['audit', 'workflow', 'Temporal runs', 'events', 'history in all', 'per run', 'largest run'],
    rows,
  );
}

export function wideReport(d: WideData): string {
  const [one, wide] = d.runs;
  const verdict =
    d.sameReport && d.speedup >= TARGET_SPEEDUP
      ? `met (${d.speedup}x, the same report)`
      : `NOT met (${d.speedup}x${d.sameReport ? '' : ', the reports differ'})`;
  const largest = (r: WideData['runs'][number] | undefined) => Math.max(0, ...(r?.runs ?? []).map((t) => t.bytes));
  return [
    `# Wide runs: a ${integer(d.files)}-file audit, one agent against a parent with ${d.children} sub-agents`,
    '',
    `${d.date}, ${d.mode} mode, ${d.seconds} s; ${machineLine(d.machine)}; model ${d.model}; simulated model latency ${d.latencyMs} ms a call.`,
    '',
    auditTable(d.runs),
    '',
    `Speed-up with ${d.children} sub-agents: ${d.speedup}x (target at least ${TARGET_SPEEDUP}x): ${verdict}.`,
    `Largest history of one Temporal run: one agent ${bytes(largest(one))}, parent and children ${bytes(largest(wide))}.`,
    '',
    '## History per Temporal run (each run of each chain: bench/results/wide.json)',
    '',
    historyTable(d.runs),
  ].join('\n');
}
