import { patched, setCurrentDetails, upsertMemo, upsertSearchAttributes } from '@temporalio/workflow';
import { cacheReadShare, tokensUsed } from '../common/counters.js';
import { currentDetails } from '../common/web-ui.js';
import { questionLine, type EscalationKind } from '../common/escalation.js';
import type { MemoEscalation, RunMemo, RunStatus, VisibleStatus } from '../common/messages.js';
import { LONGHAUL_ESCALATION, LONGHAUL_STATUS } from '../common/search-attributes.js';
import type { ChildRecord } from '../common/delegation.js';
import type { RunMemory } from './memory.js';
import type { Run } from './run.js';

/** Besides every status change, the memo is written every this many turns. */
export const MEMO_EVERY = 10;

/**
 * The memo of a run whose memory is `memory`, as `status`; `runInChain` for the next run's memo at
 * continue-as-new; `parent` for a sub-agent's. A run without parent and children has neither key.
 */
export function memoOf(
  memory: RunMemory,
  status: VisibleStatus,
  withEscalation: boolean,
  runInChain = memory.chain.runNumber,
  parent?: string,
): RunMemo {
  const open = memory.openEscalation;
  return {
    status,
    turn: memory.counters.turn,
    maxTurns: memory.maxTurns,
    tokensUsed: tokensUsed(memory.counters),
    costUsd: memory.counters.costNanos / 1e9,
    cacheReadShare: Math.round(cacheReadShare(memory.counters) * 1000) / 1000,
    ...(memory.counters.unpricedCalls ? { unpricedCalls: memory.counters.unpricedCalls } : {}),
    compactions: memory.counters.compactions,
    ...(open ? { waitingOnPerson: `${open.kind} ${open.id}: ${questionLine(open)}` } : {}),
    ...(open && withEscalation ? { escalation: memoEscalation(open) } : {}),
    runInChain,
    ...(parent !== undefined ? { parent } : {}),
    ...(memory.children?.length ? { children: childrenSummary(memory.children) } : {}),
  };
}

/** What the memo keeps of a run's sub-agents: the closed ones' turns and dollars (a running one's are its own memo's). */
export function childrenSummary(children: readonly ChildRecord[]): NonNullable<RunMemo['children']> {
  const priced = children.some((c) => c.counters.costNanos > 0);
  return {
    count: children.length,
    running: children.filter((c) => c.status === 'running').length,
    turns: children.reduce((sum, c) => sum + c.counters.turn, 0),
    ...(priced ? { costUsd: children.reduce((sum, c) => sum + c.counters.costNanos, 0) / 1e9 } : {}),
  };
}

const memoEscalation = (open: NonNullable<RunMemory['openEscalation']>): MemoEscalation => ({
  id: open.id,
  kind: open.kind,
  question: questionLine(open),
  ...(open.heldToolCall ? { tool: open.heldToolCall.name } : {}),
  openedAt: open.openedAt,
  deadline: open.deadline,
});

/**
 * The memo: what the Web UI shows of a run without a query (status, turn, tokens, compactions,
 * waiting on a person). Written on every status change and every MEMO_EVERY turns, so it costs
 * one history event at those points only. The current details go with it (they are no command).
 */
export function publishMemo(run: Run, status: VisibleStatus = run.status): void {
  showDetails(run, status);
  if (!patched('progress-memo')) return;
  const memo = memoOf(run.memory, status, run.patches.visibleEnds, undefined, run.parent?.workflowId);
  // A memo upsert merges; null removes a key, so the waiting note goes when the wait ends.
  upsertMemo({ waitingOnPerson: null, ...(run.patches.visibleEnds ? { escalation: null } : {}), ...memo });
}

/** The Web UI's current details (common/current-details.ts): no command, so any point may refresh them. */
export function showDetails(run: Run, status: VisibleStatus = run.status): void {
  const { memory } = run;
  setCurrentDetails(
    currentDetails({
      workflowId: run.workflowId,
      status,
      turn: memory.counters.turn,
      maxTurns: memory.maxTurns,
      costNanos: memory.counters.costNanos,
      unpricedCalls: memory.counters.unpricedCalls,
      compactions: memory.counters.compactions,
      runInChain: memory.chain.runNumber,
      reason: run.reason,
      escalation: memory.openEscalation,
      onTimeout: run.options.escalation.onTimeout,
      ignoredResponses: memory.ignoredResponses,
    }),
  );
}

/** The status in search attributes (so a list query finds runs waiting on a person) and in the memo. */
export function setStatus(run: Run, status: RunStatus, escalation: EscalationKind | null = null): void {
  run.status = status;
  showStatus(run, status, escalation);
}

/**
 * A status that only visibility shows (`continued`, `cancelled`: the run is handing on or ending
 * as Temporal says, and no step reads it), or a RunStatus that setStatus has recorded.
 */
export function showStatus(run: Run, status: VisibleStatus, escalation: EscalationKind | null = null): void {
  upsertSearchAttributes([
    { key: LONGHAUL_STATUS, value: status },
    { key: LONGHAUL_ESCALATION, value: escalation },
  ]);
  publishMemo(run, status);
}
