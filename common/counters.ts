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
  /** The largest context any answering call saw. */
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
  maxInputTokens: 0,
  toolCalls: 0,
  toolErrors: 0,
  idleReplies: 0,
  failuresInRow: 0,
});

/** The context a call's model read: uncached input plus what it read from and wrote to the cache. */
export const contextTokens = (usage: ModelCallResult['usage']): number =>
  usage.inputTokens + (usage.cacheWriteTokens ?? 0) + (usage.cacheReadTokens ?? 0);

/** Input, output and compaction tokens: what a token budget limits. */
export const tokensUsed = (c: Counters): number =>
  c.inputTokens + c.outputTokens + c.compactionInputTokens + c.compactionOutputTokens;

export function countModelCall(c: Counters, reply: ModelCallResult): Counters {
  const summarized = reply.compaction?.summarized ?? false;
  return {
    ...c,
    modelCalls: c.modelCalls + 1,
    inputTokens: c.inputTokens + reply.usage.inputTokens,
    outputTokens: c.outputTokens + reply.usage.outputTokens,
    compactionInputTokens: c.compactionInputTokens + (reply.usage.compaction?.inputTokens ?? 0),
    compactionOutputTokens: c.compactionOutputTokens + (reply.usage.compaction?.outputTokens ?? 0),
    compactions: c.compactions + (summarized ? 1 : 0),
    maxInputTokens: Math.max(c.maxInputTokens, reply.usage.inputTokens),
  };
}

export function logCompaction(log: CompactionEntry[], turn: number, reply: ModelCallResult): CompactionEntry[] {
  if (!reply.compaction?.summarized) return log;
  const entry: CompactionEntry = {
    turn,
    inputTokensBefore: reply.usage.compaction?.inputTokens ?? 0,
    inputTokensAfter: reply.compaction.tokensAfter ?? reply.usage.inputTokens,
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
