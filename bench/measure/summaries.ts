import type { RunHistory } from './run-chain.js';
import { splitIntoTurns, type TurnRecord } from './turns.js';
import { statsAround, type WindowStats } from './windows.js';

export interface GrowthSummary {
  design: 'naive' | 'longhaul';
  outcome: string;
  seconds: number;
  runs: number;
  turns: number;
  maxContextTokens: number;
  events: number;
  bytes: number;
  /** The server's figure, summed over the runs; undefined if the server did not report it. */
  serverBytes: number | undefined;
  largestEventBytes: number;
  windows: WindowStats[];
  perTurn: TurnRecord[];
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

function serverBytes(chain: RunHistory[]): number | undefined {
  return chain.every((r) => r.serverBytes !== undefined) ? sum(chain.map((r) => r.serverBytes!)) : undefined;
}

export function summarizeGrowth(
  design: GrowthSummary['design'],
  chain: RunHistory[],
  modelActivity: string,
  targets: number[],
  settled: { outcome: string; seconds: number },
): GrowthSummary {
  const perTurn = splitIntoTurns(
    chain.flatMap((r) => r.events),
    modelActivity,
  );
  return {
    design,
    outcome: settled.outcome,
    seconds: settled.seconds,
    runs: chain.length,
    turns: perTurn.length,
    maxContextTokens: Math.max(0, ...perTurn.map((t) => t.contextTokens ?? 0)),
    events: sum(chain.map((r) => r.events.length)),
    bytes: sum(chain.map((r) => r.bytes)),
    serverBytes: serverBytes(chain),
    largestEventBytes: Math.max(0, ...perTurn.map((t) => t.largestEventBytes)),
    windows: targets.map((target) => statsAround(perTurn, target)),
    perTurn,
  };
}

export interface RunRow {
  runId: string;
  closedAs: string;
  modelCalls: number;
  events: number;
  bytes: number;
  serverBytes: number | undefined;
  serverEvents: number;
}

export interface LongRunSummary {
  workflowId: string;
  outcome: string;
  seconds: number;
  turns: number | undefined;
  compactions: number | undefined;
  runs: RunRow[];
  total: Omit<RunRow, 'runId' | 'closedAs'>;
  /** Mean bytes per model call over the first and the last `edgeCalls` calls: does a turn still grow? */
  edgeCalls: number;
  bytesPerCallFirst: number;
  bytesPerCallLast: number;
  /** The run's structured state at the end, as JSON: it travels in every model-call input. */
  finalStateBytes: number | undefined;
}

const EDGE_CALLS = 100;

export function summarizeLongRun(
  workflowId: string,
  chain: RunHistory[],
  modelActivity: string,
  settled: {
    outcome: string;
    seconds: number;
    result?: { counters: { turn: number; compactions: number }; state: unknown };
  },
): LongRunSummary {
  const runs = chain.map((r): RunRow => ({
    runId: r.runId,
    closedAs: r.closedAs,
    modelCalls: splitIntoTurns(r.events, modelActivity).length,
    events: r.events.length,
    bytes: r.bytes,
    serverBytes: r.serverBytes,
    serverEvents: r.serverEvents,
  }));
  // The last call is left out: it also carries the run's result, as in `statsAround`.
  const calls = splitIntoTurns(
    chain.flatMap((r) => r.events),
    modelActivity,
  ).slice(0, -1);
  const meanBytes = (records: TurnRecord[]) =>
    Math.round(sum(records.map((t) => t.bytes)) / Math.max(1, records.length));
  // A short (quick) run gets two halves rather than two overlapping hundreds.
  const edgeCalls = Math.min(EDGE_CALLS, Math.floor(calls.length / 2));
  return {
    workflowId,
    outcome: settled.outcome,
    seconds: settled.seconds,
    turns: settled.result?.counters.turn,
    compactions: settled.result?.counters.compactions,
    runs,
    total: {
      modelCalls: sum(runs.map((r) => r.modelCalls)),
      events: sum(runs.map((r) => r.events)),
      bytes: sum(runs.map((r) => r.bytes)),
      serverBytes: serverBytes(chain),
      serverEvents: sum(runs.map((r) => r.serverEvents)),
    },
    edgeCalls,
    bytesPerCallFirst: meanBytes(calls.slice(0, edgeCalls)),
    bytesPerCallLast: meanBytes(calls.slice(-edgeCalls)),
    finalStateBytes: settled.result ? Buffer.byteLength(JSON.stringify(settled.result.state)) : undefined,
  };
}
