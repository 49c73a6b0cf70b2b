import type { Progress, RunResult } from '../workflows/messages.js';

const compact = (n: number) =>
  n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e4 ? `${(n / 1e3).toFixed(1)}K` : String(n);

/** One status line: where the run is, what it has spent, whether it waits. */
export function progressLine(p: Progress): string {
  const c = p.counters;
  return [
    `turn ${c.turn}/${p.maxTurns}`,
    `tokens in ${compact(c.inputTokens)} out ${compact(c.outputTokens)}`,
    `context ${compact(c.maxInputTokens)} max`,
    `compactions ${c.compactions}`,
    `tools ${c.toolCalls} (${c.toolErrors} errors)`,
    // Counters are totals over the chain of continued runs; this is the current run's place in it.
    `run ${p.chain.runNumber} of the chain`,
    p.escalation ? `awaiting a person: ${p.escalation.kind} ${p.escalation.id} — ${p.escalation.question}` : p.status,
  ].join(' · ');
}

export interface RunFigures {
  runs: number;
  historyEvents: number;
  historyBytes: number;
  largestRunBytes: number;
}

export function resultText(r: RunResult, figures?: RunFigures): string {
  const c = r.counters;
  const lines = [
    `status: ${r.status}${r.reason ? ` (${r.reason})` : ''}`,
    `turns: ${c.turn} over ${r.chain.runNumber} Temporal run${r.chain.runNumber === 1 ? '' : 's'}   model calls: ${c.modelCalls}   compactions: ${c.compactions}   tool calls: ${c.toolCalls} (${c.toolErrors} errors)`,
    `tokens: input ${c.inputTokens}   output ${c.outputTokens}   compaction ${c.compactionInputTokens}+${c.compactionOutputTokens}   largest context ${c.maxInputTokens}`,
  ];
  if (figures) {
    const kib = (n: number) => `${(n / 1024).toFixed(0)} KiB`;
    lines.push(
      `history: ${figures.historyEvents} events, ${kib(figures.historyBytes)} over ${figures.runs} run${figures.runs === 1 ? '' : 's'} (largest run ${kib(figures.largestRunBytes)})`,
    );
  }
  if (r.report) lines.push('', 'report:', r.report);
  return lines.join('\n');
}
