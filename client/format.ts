import { formatUsd } from '../common/cost.js';
import { addCounters, cacheReadShare, tokensUsed, withCounterDefaults, type Counters } from '../common/counters.js';
import type { ChildRecord } from '../common/delegation.js';
import { ALLOWED, questionLine, type Decision, type Escalation, type EscalationKind } from '../common/escalation.js';
import type { Progress, RunMemo, RunResult } from '../common/messages.js';
import { memoQuestion } from './listing.js';

const compact = (n: number) =>
  n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e4 ? `${(n / 1e3).toFixed(1)}K` : String(n);

const percent = (share: number) => `${Math.round(share * 100)}%`;

/** A plain text table: columns padded to their widest cell, the last one left free. */
export function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < cells.length - 1 ? c.padEnd(widths[i]!) : c)).join('  ');
  return [line(head), ...rows.map(line)].join('\n');
}

/**
 * What the run has cost: the priced calls' dollars (against the budget when it has one), and what
 * is unknown; the calls of a model without a price (or recorded before calls were priced) are not in it.
 */
export function costText(c: Counters, budgetUsd?: number): string {
  if (c.unpricedCalls === c.modelCalls && c.modelCalls > 0) return 'cost unknown (no price for the model)';
  const budget = budgetUsd !== undefined ? ` of ${formatUsd(budgetUsd * 1e9)}` : '';
  const unknown = c.unpricedCalls ? ` + ${c.unpricedCalls} call${c.unpricedCalls === 1 ? '' : 's'} unpriced` : '';
  return `cost ${formatUsd(c.costNanos)}${budget}${unknown}`;
}

/**
 * An escalation's question as a line shows it (questionLine), and what is below that line,
 * indented, to print under it: a held call's approval detail, or null.
 */
export function questionParts(e: Pick<Escalation, 'kind' | 'question'>): { line: string; below: string | null } {
  const line = questionLine(e);
  const rest = e.question.slice(line.length + 1);
  return {
    line,
    below: rest
      ? rest
          .split('\n')
          .map((l) => `    ${l}`)
          .join('\n')
      : null,
  };
}

/**
 * One status line: where the run is, what it has spent, whether it waits (the question's first
 * line). `shown` is the status to show when it is not the run's own (shownStatus: a run Temporal
 * closed while the workflow still said running).
 */
export function progressLine(p: Progress, shown: string = p.status): string {
  const c = p.counters;
  return [
    `turn ${c.turn}/${p.maxTurns}`,
    `tokens in ${compact(c.inputTokens)} out ${compact(c.outputTokens)}`,
    `${costText(c, p.budgetUsd)}, cache reads ${percent(cacheReadShare(c))} of input`,
    `context ${compact(c.maxInputTokens)} max`,
    `compactions ${c.compactions}`,
    `tools ${c.toolCalls} (${c.toolErrors} errors)`,
    // Counters are totals over the chain of continued runs; this is the current run's place in it.
    `run ${p.chain.runNumber} of the chain`,
    p.escalation && shown === p.status
      ? `awaiting a person: ${p.escalation.kind} ${p.escalation.id} — ${questionParts(p.escalation).line}`
      : shown,
  ].join(' · ');
}

/** The status line from a memo alone (no worker answered): what the memo keeps, in progressLine's order. */
export function memoLine(m: RunMemo, shown: string = m.status): string {
  const unpriced = m.unpricedCalls ? ` + ${m.unpricedCalls} call${m.unpricedCalls === 1 ? '' : 's'} unpriced` : '';
  const waiting = shown === 'awaiting_human' ? memoQuestion(m) : undefined;
  return [
    `turn ${m.turn}/${m.maxTurns}`,
    `tokens ${compact(m.tokensUsed)}`,
    m.costUsd === undefined ? 'cost unknown' : `cost ${formatUsd(m.costUsd * 1e9)}${unpriced}`,
    `compactions ${m.compactions}`,
    `run ${m.runInChain} of the chain`,
    ...(m.children ? [memoChildren(m.children)] : []),
    ...(m.parent ? [`sub-agent of ${m.parent}`] : []),
    waiting ? `awaiting a person: ${waiting.kind} ${waiting.id} — ${questionLine(waiting)}` : shown,
  ].join(' · ');
}

/** What a memo says of a run's sub-agents: the closed ones' turns and dollars. */
const memoChildren = (c: NonNullable<RunMemo['children']>): string =>
  `sub-agents ${c.count} (${c.running} running; closed ones ${c.turns} turns${c.costUsd !== undefined ? `, ${formatUsd(c.costUsd * 1e9)}` : ''})`;

/** 950, 12.3K, 850K, 1.2M: at most one decimal, rounded up to the next unit at its boundary. */
export function shortCount(n: number): string {
  const one = (x: number) => x.toFixed(1).replace(/\.0$/, '');
  if (n < 1_000) return String(n);
  if (n < 999_950) return `${one(n / 1e3)}K`;
  return `${one(n / 1e6)}M`;
}

/** What `extend` raises, for each kind it answers. */
const EXTEND_FLAG: Partial<Record<EscalationKind, string>> = {
  turn_cap: '--turns N',
  token_budget: '--tokens N',
  cost_budget: '--usd N',
};

/**
 * The exact commands that answer an escalation of this kind, the usual one first (the decisions
 * it allows, in ALLOWED's order), with the text a reply and a deny need.
 */
export function answerCommands(kind: EscalationKind, runId: string): string[] {
  const command: Record<Decision, string> = {
    reply: `longhaul reply ${runId} "your answer"`,
    approve: `longhaul approve ${runId}`,
    deny: `longhaul deny ${runId} --message "why not"`,
    extend: `longhaul extend ${runId} ${EXTEND_FLAG[kind] ?? '--turns N'}`,
    stop: `longhaul stop ${runId}`,
  };
  return ALLOWED[kind].map((d) => command[d]);
}

/**
 * What `follow` prints once when a run starts waiting: the question (a held call's approval
 * detail indented below it) and the commands that answer.
 */
export function waitingText(e: Pick<Escalation, 'id' | 'kind' | 'question'>, runId: string): string {
  const { line, below } = questionParts(e);
  return [
    `waiting on a person: ${e.kind} ${e.id} — ${line}`,
    ...(below ? [below] : []),
    `  answer: ${answerCommands(e.kind, runId).join('  |  ')}`,
  ].join('\n');
}

const MIN_BAR = 5;

/**
 * The live line of `follow` on a terminal, redrawn in place: turns against the cap as a bar,
 * tokens, compactions, and the status, or who the run waits for and how to answer. Kept under
 * `columns` when given, since a wrapped line cannot be redrawn with `\r`: the bar narrows (or
 * goes) first, so the answering command stays whole; only then is the end cut.
 */
export function progressBar(p: Progress, runId: string, opts: { barWidth?: number; columns?: number } = {}): string {
  const barWidth = opts.barWidth ?? 20;
  const c = p.counters;
  const fraction = p.maxTurns > 0 ? Math.min(1, c.turn / p.maxTurns) : 0;
  const filled = Math.floor(fraction * barWidth);
  const e = p.escalation;
  const line = [
    `turn ${c.turn}/${p.maxTurns}${barWidth > 0 ? ` [${'█'.repeat(filled)}${'░'.repeat(barWidth - filled)}]` : ''} ${Math.floor(fraction * 100)}%`,
    `${shortCount(tokensUsed(c))} tokens`,
    c.unpricedCalls === c.modelCalls && c.modelCalls > 0 ? 'cost unknown' : formatUsd(c.costNanos),
    `${c.compactions} compaction${c.compactions === 1 ? '' : 's'}`,
    e ? `waiting: ${e.kind} ${e.id} (${answerCommands(e.kind, runId)[0]})` : p.status,
  ].join(' · ');
  if (opts.columns === undefined || line.length < opts.columns) return line;
  // A bar narrower than MIN_BAR says little, so it goes rather than shrinking further.
  const narrower = barWidth - (line.length - (opts.columns - 1));
  if (barWidth > 0) return progressBar(p, runId, { ...opts, barWidth: narrower >= MIN_BAR ? narrower : 0 });
  return `${line.slice(0, Math.max(0, opts.columns - 2))}…`;
}

export interface RunFigures {
  runs: number;
  historyEvents: number;
  historyBytes: number;
  largestRunBytes: number;
}

export function resultText(r: RunResult, figures?: RunFigures): string {
  // A result from before a counter existed shows it as 0.
  const c = withCounterDefaults(r.counters);
  const lines = [
    `status: ${r.status}${r.reason ? ` (${r.reason})` : ''}`,
    `turns: ${c.turn} over ${r.chain.runNumber} Temporal run${r.chain.runNumber === 1 ? '' : 's'}   model calls: ${c.modelCalls}   compactions: ${c.compactions}   tool calls: ${c.toolCalls} (${c.toolErrors} errors)`,
    `tokens: input ${c.inputTokens}   output ${c.outputTokens}   compaction ${c.compactionInputTokens}+${c.compactionOutputTokens}   largest context ${c.maxInputTokens}`,
    `cache: written ${c.cacheWriteTokens} (${c.cacheWrite1hTokens} for 1h)   read ${c.cacheReadTokens} (${percent(cacheReadShare(c))} of input)   ${costText(c)}`,
  ];
  if (figures) {
    const kib = (n: number) => `${(n / 1024).toFixed(0)} KiB`;
    lines.push(
      `history: ${figures.historyEvents} events, ${kib(figures.historyBytes)} over ${figures.runs} run${figures.runs === 1 ? '' : 's'} (largest run ${kib(figures.largestRunBytes)})`,
    );
  }
  const children = childrenText(r.children, r.totals);
  if (children) lines.push(children);
  if (r.report) lines.push('', 'report:', r.report);
  return lines.join('\n');
}

// A run's sub-agents as `status`, `follow`, the result and the export show them.

/** A running child's own progress, when its worker answered: its figures are live, its record's are zeros. */
export type LiveChildren = Readonly<Record<string, Pick<Progress, 'status' | 'counters' | 'totals'>>>;

const figuresOf = (child: ChildRecord, live: LiveChildren): Counters => {
  const p = child.status === 'running' ? live[child.workflowId] : undefined;
  return p ? (p.totals ?? p.counters) : child.counters;
};

/** The sub-agents' table, then the totals line; empty for a run without children. */
export function childrenText(
  children: readonly ChildRecord[] | undefined,
  totals: Counters | undefined,
  live: LiveChildren = {},
): string {
  if (!children?.length || !totals) return '';
  const rows = children.map((c) => {
    const p = c.status === 'running' ? live[c.workflowId] : undefined;
    const figures = figuresOf(c, live);
    return [
      c.workflowId,
      c.agent,
      p ? p.status : c.status,
      String(figures.turn),
      costText(figures).replace(/^cost /, ''),
      c.reason && c.status !== 'completed' ? `${c.task} (${c.reason})` : c.task,
    ];
  });
  return [
    `sub-agents: ${children.length} (${children.filter((c) => c.status === 'running').length} running)`,
    table(['SUB-AGENT', 'AGENT', 'STATUS', 'TURNS', 'COST', 'TASK'], rows),
    totalsLine(liveTotals(children, totals, live), children.length),
  ].join('\n');
}

/** The totals with the running children's live figures added (the run's totals have only the closed ones'). */
export function liveTotals(children: readonly ChildRecord[], totals: Counters, live: LiveChildren): Counters {
  return children
    .filter((c) => c.status === 'running' && live[c.workflowId])
    .reduce((sum, c) => addCounters(sum, figuresOf(c, live)), totals);
}

export const totalsLine = (t: Counters, children: number): string =>
  `totals with ${children} sub-agent${children === 1 ? '' : 's'}: ${t.turn} turns · ${shortCount(tokensUsed(t))} tokens · ${costText(t)} · ${t.toolCalls} tool calls`;

/**
 * What `follow` prints of the children since it last looked (`seen`: each child's last status,
 * updated here): a line when one starts, and one when it ends.
 */
export function childEvents(seen: Map<string, string>, children: readonly ChildRecord[] | undefined): string[] {
  const lines: string[] = [];
  for (const c of children ?? []) {
    const before = seen.get(c.workflowId);
    if (before === c.status) continue;
    seen.set(c.workflowId, c.status);
    if (before === undefined) lines.push(`sub-agent ${c.workflowId} started (agent ${c.agent}): ${c.task}`);
    if (c.status !== 'running') {
      const why = c.reason && c.status !== 'completed' ? ` (${c.reason})` : '';
      lines.push(
        `sub-agent ${c.workflowId} ${c.status}${why}: ${c.counters.turn} turns, ${costText(c.counters).replace(/^cost /, '')}`,
      );
    }
  }
  return lines;
}
