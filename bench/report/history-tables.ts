import type { GrowthSummary, LongRunSummary } from '../measure/summaries.js';
import type { WindowStats } from '../measure/windows.js';
import type { Plan } from '../plan.js';
import { machineLine, type Machine } from './machine.js';
import { bytes, integer, markdownTable } from './markdown.js';

const tokens = (n: number) => `${integer(n / 1000)}K`;
const turnsOf = (w: WindowStats) =>
  w.reached ? `${w.fromTurn}–${w.toTurn} (${integer(w.meanContextTokens!)} tok)` : 'not reached';

/** Per-turn cost at each target context size, both designs side by side. */
function perTurnTable(naive: GrowthSummary, longhaul: GrowthSummary): string {
  const rows = naive.windows.map((n, i) => {
    const l = longhaul.windows[i]!;
    const ratio = n.reached && l.reached ? `${(n.bytesPerTurn! / l.bytesPerTurn!).toFixed(1)}×` : '—';
    return [
      tokens(n.target),
      turnsOf(n),
      n.reached ? bytes(n.bytesPerTurn!) : '—',
      n.reached ? n.eventsPerTurn!.toFixed(1) : '—',
      turnsOf(l),
      l.reached ? bytes(l.bytesPerTurn!) : '—',
      l.reached ? l.eventsPerTurn!.toFixed(1) : '—',
      ratio,
    ];
  });
  return markdownTable(
    [
      'context',
      'naive: turns (mean context)',
      'naive bytes/turn',
      'naive events/turn',
      'longhaul: turns (mean context)',
      'longhaul bytes/turn',
      'longhaul events/turn',
      'bytes naive/longhaul',
    ],
    rows,
  );
}

/** The whole growth runs: how each ended and what its history came to. */
function growthRunsTable(runs: GrowthSummary[]): string {
  return markdownTable(
    [
      'design',
      'outcome',
      'turns',
      'max context (tokens)',
      'events',
      'history bytes (sum of events)',
      'history bytes (server)',
      'largest event',
    ],
    runs.map((r) => [
      r.design,
      r.outcome,
      r.turns,
      integer(r.maxContextTokens),
      integer(r.events),
      bytes(r.bytes),
      r.serverBytes === undefined ? 'not reported' : bytes(r.serverBytes),
      bytes(r.largestEventBytes),
    ]),
  );
}

/** The long run, one row per Temporal run of the chain, and the chain's total. */
function longRunTable(long: LongRunSummary): string {
  const server = (n: number | undefined) => (n === undefined ? 'not reported' : bytes(n));
  return markdownTable(
    ['run', 'run id', 'closed as', 'model calls', 'events', 'bytes (sum of events)', 'bytes (server)'],
    [
      ...long.runs.map((r, i) => [
        i + 1,
        r.runId,
        r.closedAs,
        r.modelCalls,
        integer(r.events),
        bytes(r.bytes),
        server(r.serverBytes),
      ]),
      [
        'total',
        `${long.runs.length} run(s)`,
        long.outcome,
        long.total.modelCalls,
        integer(long.total.events),
        bytes(long.total.bytes),
        server(long.total.serverBytes),
      ],
    ],
  );
}

/** Everything the benchmark prints: the machine, then the tables in markdown. */
export function historyReport(r: {
  machine: Machine;
  date: string;
  seconds: number;
  plan: Plan;
  naive: GrowthSummary;
  longhaul: GrowthSummary;
  longRun: LongRunSummary;
}): string {
  const { plan, longRun } = r;
  const stateBytes = longRun.finalStateBytes === undefined ? 'unknown' : bytes(longRun.finalStateBytes);
  return [
    machineLine(r.machine),
    `date: ${r.date}, mode: ${plan.mode}, runtime: ${r.seconds} s`,
    '',
    `### Per turn, around each context size (audit of ${plan.growthFiles} files, compaction off)`,
    '',
    perTurnTable(r.naive, r.longhaul),
    '',
    '### The two growth runs',
    '',
    growthRunsTable([r.naive, r.longhaul]),
    '',
    `### longhaul, ${plan.longFiles}-file audit (compaction trigger ${plan.longTrigger}, max turns ${plan.longMaxTurns}): history per Temporal run`,
    '',
    longRunTable(longRun),
    '',
    `turns: ${longRun.turns ?? 'unknown'}, compactions: ${longRun.compactions ?? 'unknown'}, wall time: ${longRun.seconds} s; ` +
      `history per model call: ${bytes(longRun.bytesPerCallFirst)} over the first ${longRun.edgeCalls} calls, ` +
      `${bytes(longRun.bytesPerCallLast)} over the last ${longRun.edgeCalls}; final state: ${stateBytes} of JSON`,
  ].join('\n');
}
