import { patched, upsertMemo, upsertSearchAttributes } from '@temporalio/workflow';
import { cacheReadShare, tokensUsed } from '../common/counters.js';
import { questionLine, type EscalationKind } from '../common/escalation.js';
import type { RunMemo, RunStatus } from '../common/messages.js';
import { LONGHAUL_ESCALATION, LONGHAUL_STATUS } from '../common/search-attributes.js';
import type { Run } from './run.js';

/** Besides every status change, the memo is written every this many turns. */
export const MEMO_EVERY = 10;

/**
 * The memo: what the Web UI shows of a run without a query (status, turn, tokens, compactions,
 * waiting on a person). Written on every status change and every MEMO_EVERY turns, so it costs
 * one history event at those points only.
 */
export function publishMemo(run: Run): void {
  if (!patched('progress-memo')) return;
  const { memory } = run;
  const open = memory.openEscalation;
  const memo: RunMemo = {
    status: run.status,
    turn: memory.counters.turn,
    maxTurns: memory.maxTurns,
    tokensUsed: tokensUsed(memory.counters),
    costUsd: memory.counters.costNanos / 1e9,
    cacheReadShare: Math.round(cacheReadShare(memory.counters) * 1000) / 1000,
    ...(memory.counters.unpricedCalls ? { unpricedCalls: memory.counters.unpricedCalls } : {}),
    compactions: memory.counters.compactions,
    ...(open ? { waitingOnPerson: `${open.kind} ${open.id}: ${questionLine(open)}` } : {}),
    runInChain: memory.chain.runNumber,
  };
  // A memo upsert merges; null removes a key, so the waiting note goes when the wait ends.
  upsertMemo({ waitingOnPerson: null, ...memo });
}

/** The status in search attributes (so a list query finds runs waiting on a person) and in the memo. */
export function setStatus(run: Run, status: RunStatus, escalation: EscalationKind | null = null): void {
  run.status = status;
  upsertSearchAttributes([
    { key: LONGHAUL_STATUS, value: status },
    { key: LONGHAUL_ESCALATION, value: escalation },
  ]);
  publishMemo(run);
}
