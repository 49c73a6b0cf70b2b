import { WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { userInfo } from 'node:os';
import type { AgentRunWorkflow } from '../common/messages.js';
import type { Decision, Escalation, HumanResponse } from '../common/escalation.js';
import { escalationQuery, respondUpdate, stopRunUpdate } from '../common/messages.js';
import { formatUsd } from '../common/cost.js';
import { questionParts, table } from './format.js';
import {
  describeReadable,
  listReadable,
  memoQuestion,
  shownStatus,
  unreadableLines,
  type ListedRun,
  type MemoQuestion,
} from './listing.js';
import { UsageError } from './run-flags.js';
import { runsQuery, type ListStatus } from './runs-query.js';
import { askWorker, isDeadline, UPDATE_WAIT_MS } from './status.js';

export interface PendingRun {
  runId: string;
  /** The task queue of its workers: answering needs one polling it. */
  taskQueue: string;
  /**
   * The open escalation: whole (with a held call's approval detail) when a worker answered the
   * query, else what the memo keeps of it; null when neither said (a run from before the memo had it).
   */
  escalation: Escalation | MemoQuestion | null;
  /** Where `escalation` comes from. */
  source: 'query' | 'memo' | 'none';
  /** The parent's workflow id, for a sub-agent's run (from its memo). */
  parent?: string;
}

/** Runs waiting on a person: those this client can read with their open escalation, and those it cannot. */
export interface Pending {
  pending: PendingRun[];
  unreadable: { runId: string; unreadable: string }[];
  /** Why no worker's answer came for some runs (their escalation is the memo's); absent when every worker answered. */
  unanswered?: string;
}

/**
 * Every run waiting on a person, found through visibility (the search attribute and the memo, which
 * need no worker), newest first. The workers are asked for the whole escalations at once, each for
 * at most a moment (askWorker); a run whose worker does not answer is listed from its memo.
 */
export async function listPending(client: Client): Promise<Pending> {
  const found: Pending = { pending: [], unreadable: [] };
  const readable: ListedRun[] = [];
  for await (const run of listReadable(client, `LonghaulStatus = 'awaiting_human' AND ExecutionStatus = 'Running'`)) {
    if (run.unreadable) found.unreadable.push({ runId: run.workflowId, unreadable: run.unreadable });
    else readable.push(run);
  }
  readable.sort(newestFirst);
  const asked = await Promise.all(
    readable.map((run) => askWorker(client, () => client.workflow.getHandle(run.workflowId).query(escalationQuery))),
  );
  const why = new Set<string>();
  readable.forEach((run, i) => {
    const answer = asked[i]!;
    const parent = run.memo?.parent;
    const base = { runId: run.workflowId, taskQueue: run.taskQueue, ...(parent ? { parent } : {}) };
    // A worker that answers is the truth: null means the wait ended since visibility was read.
    if (answer.ok) {
      if (answer.value) found.pending.push({ ...base, escalation: answer.value, source: 'query' });
      return;
    }
    why.add(answer.why);
    const memo = memoQuestion(run.memo);
    found.pending.push({ ...base, escalation: memo ?? null, source: memo ? 'memo' : 'none' });
  });
  const queues = [...new Set(found.pending.filter((p) => p.source !== 'query').map((p) => p.taskQueue))];
  if (queues.length)
    found.unanswered = `${[...why].join('; ')}: listed from the memo, without approval details; answering needs a worker polling task queue ${queues.join(', ')}`;
  return found;
}

const newestFirst = (a: { startTime: Date }, b: { startTime: Date }) => b.startTime.getTime() - a.startTime.getTime();

const utc = (iso: string | undefined) => (iso ? iso.slice(0, 19).replace('T', ' ') : '?');

/** The table `longhaul pending` prints (it needs of each run only its id and escalation). */
export function pendingTable({
  pending,
  unreadable,
  unanswered,
}: Omit<Pending, 'pending'> & { pending: Pick<PendingRun, 'runId' | 'escalation' | 'parent'>[] }): string {
  const notes = unreadableLines(unreadable);
  if (pending.length === 0)
    return [
      notes.length ? 'no run this client can read is waiting on a person' : 'no run is waiting on a person',
      ...notes,
    ].join('\n');
  const rows = pending.map(({ runId, escalation: e }) =>
    e
      ? [runId, e.id, e.kind, utc(e.deadline), questionParts(e).line]
      : [runId, '?', '?', '?', '(not known: no worker answered, and the memo of this run does not name it)'],
  );
  const text = table(['RUN', 'ESCALATION', 'KIND', 'DEADLINE (UTC)', 'QUESTION'], rows);
  // A held call's approval detail (a diff, a command and its directory) goes below the table.
  const details = pending.flatMap(({ runId, escalation: e }) => {
    const below = e ? questionParts(e).below : null;
    return below ? ['', `${runId} ${e!.id}:`, below] : [];
  });
  // A sub-agent's escalation is answered on the sub-agent's own id, like any other.
  const children = pending.flatMap(({ runId, parent }) => (parent ? [`${runId} is a sub-agent of ${parent}`] : []));
  // The question shows each field cut; what is approved is the whole input.
  const held = pending.some((p) => p.escalation && 'heldToolCall' in p.escalation && p.escalation.heldToolCall);
  return [
    text,
    ...details,
    ...(children.length ? ['', ...children] : []),
    ...(unanswered ? ['', unanswered] : []),
    ...notes,
    ...(held ? ['', 'the whole input of a held tool call: longhaul held RUN'] : []),
  ].join('\n');
}

/**
 * The tool call a run's open escalation holds, with its whole input: inline in the escalation, or
 * read with `readStored` when the model call stored it by reference (a large input).
 */
export async function heldCall(
  client: Client,
  runId: string,
  readStored: (ref: string) => Promise<string>,
): Promise<{ escalationId: string; name: string; display?: string; input: unknown }> {
  const run = await liveRun(client, runId);
  const asked = await askWorker(client, () =>
    client.workflow.getHandle<AgentRunWorkflow>(runId).query(escalationQuery),
  );
  if (!asked.ok)
    throw new Error(`${asked.why}: the held call's input needs a worker polling task queue ${run.taskQueue}`);
  const escalation = asked.value;
  const call = escalation?.heldToolCall;
  if (!escalation || !call) throw new UsageError(`run ${runId} holds no tool call for approval`);
  const input = call.inputRef ? (JSON.parse(await readStored(call.inputRef)) as unknown) : call.input;
  return {
    escalationId: escalation.id,
    name: call.name,
    ...(call.display !== undefined ? { display: call.display } : {}),
    input,
  };
}

export interface RunRow {
  runId: string;
  /** longhaul's status, or Temporal's for a run Temporal closed while longhaul's said it lived (shownStatus). */
  status: string;
  startedAt: string;
  temporalStatus: string;
  /** From the memo (absent when it is unreadable or not written yet). */
  turn?: number;
  maxTurns?: number;
  costUsd?: number;
  /** Why this client cannot read the run (its status still shows: a search attribute). */
  unreadable?: string;
}

/** The latest run of each longhaul workflow, newest start first (as the table shows), optionally of one status. */
export async function listRuns(client: Client, status?: ListStatus): Promise<RunRow[]> {
  // A run that continued as new keeps the status it had then; only the chain's live end counts.
  const query = runsQuery({ status });
  const runs: ListedRun[] = [];
  for await (const run of listReadable(client, query)) runs.push(run);
  // Visibility orders by close time (open runs first); the table shows the start.
  runs.sort(newestFirst);
  const seen = new Set<string>();
  const rows: RunRow[] = [];
  for (const run of runs) {
    if (seen.has(run.workflowId)) continue;
    seen.add(run.workflowId);
    const m = run.memo;
    rows.push({
      runId: run.workflowId,
      status: shownStatus(run.status, run.temporalStatus),
      startedAt: run.startTime.toISOString(),
      temporalStatus: run.temporalStatus,
      ...(m ? { turn: m.turn, maxTurns: m.maxTurns } : {}),
      ...(m?.costUsd !== undefined ? { costUsd: m.costUsd } : {}),
      ...(run.unreadable ? { unreadable: run.unreadable } : {}),
    });
  }
  return rows;
}

export function runsTable(rows: RunRow[]): string {
  if (rows.length === 0) return 'no runs';
  return [
    table(
      ['RUN', 'STATUS', 'TURN', 'COST', 'STARTED (UTC)', 'TEMPORAL'],
      rows.map((r) => [
        r.runId,
        r.status,
        r.turn !== undefined ? `${r.turn}/${r.maxTurns}` : '?',
        r.costUsd !== undefined ? formatUsd(r.costUsd * 1e9) : '?',
        utc(r.startedAt),
        r.temporalStatus,
      ]),
    ),
    ...unreadableLines(rows),
  ].join('\n');
}

/**
 * Sends an answer through the `respond` update: the workflow's validator checks it against the
 * open escalation, so a refused answer comes back with its reason and leaves the run unchanged.
 */
export async function answer(
  client: Client,
  runId: string,
  decision: Decision,
  fields: {
    escalationId?: string;
    message?: string;
    turns?: number;
    tokens?: number;
    usd?: number;
    /** Who answers, as the run records it; default `cli:<user>`. */
    by?: string;
  },
): Promise<string> {
  const handle = client.workflow.getHandle<AgentRunWorkflow>(runId);
  const run = await liveRun(client, runId);
  const escalationId = fields.escalationId ?? (await openEscalationId(client, run));
  const response: HumanResponse = {
    escalationId,
    decision,
    by: fields.by ?? `cli:${userInfo().username}`,
    ...(fields.message !== undefined ? { message: fields.message } : {}),
    ...(fields.turns !== undefined ? { turns: fields.turns } : {}),
    ...(fields.tokens !== undefined ? { tokens: fields.tokens } : {}),
    ...(fields.usd !== undefined ? { usd: fields.usd } : {}),
  };
  await sendUpdate(client, run, decision, () => handle.executeUpdate(respondUpdate, { args: [response] }));
  return `${decision} sent for ${escalationId} of ${runId}`;
}

/**
 * Ends a run through the `stopRun` update, busy or waiting: it stops after the step in flight (a
 * model or tool call finishes first), as `stopped`, its report kept; a wait on a person closes
 * with decision stop. The validator refuses a run that is already ending, with its reason.
 */
export async function stopRun(
  client: Client,
  runId: string,
  fields: { message?: string; by?: string },
): Promise<string> {
  const run = await liveRun(client, runId);
  const arg = {
    by: fields.by ?? `cli:${userInfo().username}`,
    ...(fields.message !== undefined ? { message: fields.message } : {}),
  };
  await sendUpdate(client, run, 'stop', () =>
    client.workflow.getHandle<AgentRunWorkflow>(runId).executeUpdate(stopRunUpdate, { args: [arg] }),
  );
  return `stop sent to ${runId}: it ends as stopped after the step in flight (longhaul follow ${runId} shows its end)`;
}

/** The run, from describe; a one-line error when there is none, or it has ended (nothing to answer or stop). */
async function liveRun(client: Client, runId: string): Promise<ListedRun> {
  const run = await describeReadable(client, runId);
  if (!run) throw new UsageError(`no run with id ${JSON.stringify(runId)}`);
  if (run.temporalStatus !== 'RUNNING')
    throw new UsageError(
      `run ${runId} has ended (${shownStatus(run.status, run.temporalStatus)}); nothing to answer or stop`,
    );
  return run;
}

/** The open escalation's id: from the memo (no worker needed), else from a worker's query. */
async function openEscalationId(client: Client, run: ListedRun): Promise<string> {
  const fromMemo = run.status === 'awaiting_human' ? memoQuestion(run.memo)?.id : undefined;
  if (fromMemo) return fromMemo;
  const asked = await askWorker(client, () => client.workflow.getHandle(run.workflowId).query(escalationQuery));
  if (asked.ok && asked.value) return asked.value.id;
  if (asked.ok || run.status !== 'awaiting_human') throw new UsageError(`run ${run.workflowId} has no open escalation`);
  throw new UsageError(
    `cannot tell which escalation is open: ${asked.why}; give --escalation ID, or start a worker polling task queue ${run.taskQueue}`,
  );
}

/**
 * Sends an update and waits, at most UPDATE_WAIT_MS, for a worker to take it: a refusal comes back
 * with the validator's reason; no worker at all, with what that means.
 */
async function sendUpdate(client: Client, run: ListedRun, what: string, send: () => Promise<unknown>): Promise<void> {
  try {
    await client.withDeadline(Date.now() + UPDATE_WAIT_MS, send);
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) throw new UsageError(`refused: ${err.cause?.message ?? err.message}`);
    if (isDeadline(err))
      throw new Error(
        `no worker took the ${what} within ${UPDATE_WAIT_MS / 1000} s: it applies once a worker polls task queue ${run.taskQueue} (if the server still holds it then); longhaul status ${run.workflowId} shows whether it did`,
        { cause: err },
      );
    throw err;
  }
}
