import type { ModelCallResult, PendingBlock } from './contracts.js';

/** Exact running totals of a run, kept in workflow state (never recomputed from the conversation). */
export interface Counters {
  turn: number;
  modelCalls: number;
  inputTokens: number;
  outputTokens: number;
  /** Tokens the summarizer used; billed, but not part of any answer's context. */
  compactionInputTokens: number;
  compactionOutputTokens: number;
  compactions: number;
  /**
   * Cache writes and reads of every call, answering and compaction iterations alike (absent in
   * counters recorded before they were read: withCounterDefaults).
   */
  cacheWriteTokens: number;
  /** The part of the cache writes at the 1-hour TTL (billed at 2x input, against 1.25x for 5 minutes). */
  cacheWrite1hTokens: number;
  cacheReadTokens: number;
  /** What the priced calls cost, in nano-dollars (common/cost.ts), and how many calls had no price. */
  costNanos: number;
  unpricedCalls: number;
  /** The largest context (contextTokens) any answering call saw. */
  maxInputTokens: number;
  toolCalls: number;
  toolErrors: number;
  /** Consecutive replies that called no tool. */
  idleReplies: number;
  /** Tool errors and non-retryable model errors since the last successful tool call. */
  failuresInRow: number;
}

export interface CompactionEntry {
  turn: number;
  inputTokensBefore: number;
  inputTokensAfter: number;
  summaryChars: number;
}

/** The log keeps its newest entries; totals live in Counters, so trimming loses no figure. */
export const COMPACTION_LOG_LIMIT = 100;

export const initialCounters = (): Counters => ({
  turn: 0,
  modelCalls: 0,
  inputTokens: 0,
  outputTokens: 0,
  compactionInputTokens: 0,
  compactionOutputTokens: 0,
  compactions: 0,
  cacheWriteTokens: 0,
  cacheWrite1hTokens: 0,
  cacheReadTokens: 0,
  costNanos: 0,
  unpricedCalls: 0,
  maxInputTokens: 0,
  toolCalls: 0,
  toolErrors: 0,
  idleReplies: 0,
  failuresInRow: 0,
});

/**
 * Counters as carried or recorded by a run from before a field existed: the missing ones are 0, so
 * that a continued old chain counts on and an old result still shows.
 */
export const withCounterDefaults = (c: Partial<Counters>): Counters => ({ ...initialCounters(), ...c });

/**
 * A run's counters with a sub-agent's added (common/delegation.ts totalsOf): spending and counts
 * add up; the largest context is the larger one; idle replies and failures in a row are the run's
 * own state, not spending, and stay the run's.
 */
export function addCounters(own: Counters, child: Partial<Counters>): Counters {
  const sum = { ...own };
  for (const key of Object.keys(own) as (keyof Counters)[]) sum[key] = own[key] + (child[key] ?? 0);
  return {
    ...sum,
    maxInputTokens: Math.max(own.maxInputTokens, child.maxInputTokens ?? 0),
    idleReplies: own.idleReplies,
    failuresInRow: own.failuresInRow,
  };
}

/** The size of a call's context: its uncached input and what it wrote to and read from the cache. */
export const contextTokens = (usage: ModelCallResult['usage']): number =>
  usage.inputTokens + (usage.cacheWriteTokens ?? 0) + (usage.cacheReadTokens ?? 0);

/** The share of all input tokens (uncached, written, read; compaction's too) read from the cache; 0 before any. */
export function cacheReadShare(c: Counters): number {
  const input = c.inputTokens + c.compactionInputTokens + c.cacheWriteTokens + c.cacheReadTokens;
  return input ? c.cacheReadTokens / input : 0;
}

/**
 * Input (uncached, written to and read from the cache), output and compaction tokens: what a token
 * budget limits. Recorded runs read no cache tokens, so their sums are unchanged.
 */
export const tokensUsed = (c: Counters): number =>
  c.inputTokens +
  c.cacheWriteTokens +
  c.cacheReadTokens +
  c.outputTokens +
  c.compactionInputTokens +
  c.compactionOutputTokens;

export function countModelCall(c: Counters, reply: ModelCallResult): Counters {
  const summarized = reply.compaction?.summarized ?? false;
  const { usage } = reply;
  return {
    ...c,
    cacheWriteTokens: c.cacheWriteTokens + (usage.cacheWriteTokens ?? 0) + (usage.compaction?.cacheWriteTokens ?? 0),
    cacheWrite1hTokens: c.cacheWrite1hTokens + (usage.cacheWrite1hTokens ?? 0),
    cacheReadTokens: c.cacheReadTokens + (usage.cacheReadTokens ?? 0) + (usage.compaction?.cacheReadTokens ?? 0),
    costNanos: c.costNanos + (reply.costNanos ?? 0),
    unpricedCalls: c.unpricedCalls + (reply.costNanos === undefined ? 1 : 0),
    modelCalls: c.modelCalls + 1,
    inputTokens: c.inputTokens + reply.usage.inputTokens,
    outputTokens: c.outputTokens + reply.usage.outputTokens,
    compactionInputTokens: c.compactionInputTokens + (reply.usage.compaction?.inputTokens ?? 0),
    compactionOutputTokens: c.compactionOutputTokens + (reply.usage.compaction?.outputTokens ?? 0),
    compactions: c.compactions + (summarized ? 1 : 0),
    maxInputTokens: Math.max(c.maxInputTokens, contextTokens(usage)),
  };
}

export function logCompaction(log: CompactionEntry[], turn: number, reply: ModelCallResult): CompactionEntry[] {
  if (!reply.compaction?.summarized) return log;
  const entry: CompactionEntry = {
    turn,
    // The summarizer's context, cached part included: with caching, its input_tokens are only the uncached rest.
    inputTokensBefore: reply.usage.compaction ? contextTokens(reply.usage.compaction) : 0,
    inputTokensAfter: reply.compaction.tokensAfter ?? contextTokens(reply.usage),
    summaryChars: reply.compaction.summaryChars,
  };
  return [...log, entry].slice(-COMPACTION_LOG_LIMIT);
}

/** Counts results in order: an error extends the run of failures, a success ends it. */
export function countToolResults(c: Counters, results: PendingBlock[]): Counters {
  let { failuresInRow, toolErrors } = c;
  for (const r of results) {
    const failed = r.type === 'tool_result' && r.is_error === true;
    failuresInRow = failed ? failuresInRow + 1 : 0;
    if (failed) toolErrors++;
  }
  return { ...c, toolCalls: c.toolCalls + results.length, toolErrors, failuresInRow };
}
