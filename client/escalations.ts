import { WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { userInfo } from 'node:os';
import type { AgentRunWorkflow } from '../common/messages.js';
import type { Decision, Escalation, HumanResponse } from '../common/escalation.js';
import { AGENT_RUN_WORKFLOW, escalationQuery, respondUpdate } from '../common/messages.js';
import { questionParts } from './format.js';
import { listReadable, unreadableLines } from './listing.js';
import { UsageError } from './run-flags.js';

export interface PendingRun {
  runId: string;
  escalation: Escalation;
}

/** Runs waiting on a person: those this client can read with their open escalation, and those it cannot. */
export interface Pending {
  pending: PendingRun[];
  unreadable: { runId: string; unreadable: string }[];
}

/** Runs waiting on a person, found through the search attribute, with their open escalation. */
export async function listPending(client: Client): Promise<Pending> {
  const found: Pending = { pending: [], unreadable: [] };
  for await (const run of listReadable(client, `LonghaulStatus = 'awaiting_human' AND ExecutionStatus = 'Running'`)) {
    if (run.unreadable) {
      found.unreadable.push({ runId: run.workflowId, unreadable: run.unreadable });
      continue;
    }
    const escalation = await client.workflow
      .getHandle(run.workflowId)
      .query(escalationQuery)
      .catch(() => null);
    if (escalation) found.pending.push({ runId: run.workflowId, escalation });
  }
  return found;
}

/** A plain text table: columns padded to their widest cell, the last one left free. */
function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < cells.length - 1 ? c.padEnd(widths[i]!) : c)).join('  ');
  return [line(head), ...rows.map(line)].join('\n');
}

export function pendingTable({ pending, unreadable }: Pending): string {
  const notes = unreadableLines(unreadable);
  if (pending.length === 0)
    return [
      notes.length ? 'no run this client can read is waiting on a person' : 'no run is waiting on a person',
      ...notes,
    ].join('\n');
  const rows = pending.map(({ runId, escalation: e }) => [
    runId,
    e.id,
    e.kind,
    e.deadline.slice(0, 19).replace('T', ' '),
    questionParts(e).line,
  ]);
  const text = table(['RUN', 'ESCALATION', 'KIND', 'DEADLINE (UTC)', 'QUESTION'], rows);
  // A held call's approval detail (a diff, a command and its directory) goes below the table.
  const details = pending.flatMap(({ runId, escalation: e }) => {
    const { below } = questionParts(e);
    return below ? ['', `${runId} ${e.id}:`, below] : [];
  });
  // The question shows each field cut; what is approved is the whole input.
  const held = pending.some((p) => p.escalation.heldToolCall);
  return [
    text,
    ...details,
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
  const escalation = await client.workflow.getHandle<AgentRunWorkflow>(runId).query(escalationQuery);
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
  status: string;
  startedAt: string;
  temporalStatus: string;
  /** Why this client cannot read the run (its status still shows: a search attribute). */
  unreadable?: string;
}

/** The latest run of each longhaul workflow, newest first, optionally of one longhaul status. */
export async function listRuns(client: Client, status?: string): Promise<RunRow[]> {
  // A run that continued as new keeps the status it had then; only the chain's live end counts.
  const query = `WorkflowType = '${AGENT_RUN_WORKFLOW}' AND ExecutionStatus != 'ContinuedAsNew'${status ? ` AND LonghaulStatus = '${status}'` : ''}`;
  const seen = new Set<string>();
  const rows: RunRow[] = [];
  for await (const run of listReadable(client, query)) {
    if (seen.has(run.workflowId)) continue;
    seen.add(run.workflowId);
    rows.push({
      runId: run.workflowId,
      status: run.status ?? 'unknown',
      startedAt: run.startTime.toISOString(),
      temporalStatus: run.temporalStatus,
      ...(run.unreadable ? { unreadable: run.unreadable } : {}),
    });
  }
  return rows;
}

export function runsTable(rows: RunRow[]): string {
  if (rows.length === 0) return 'no runs';
  return [
    table(
      ['RUN', 'STATUS', 'STARTED (UTC)', 'TEMPORAL'],
      rows.map((r) => [r.runId, r.status, r.startedAt.slice(0, 19).replace('T', ' '), r.temporalStatus]),
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
  const escalationId = fields.escalationId ?? (await handle.query(escalationQuery))?.id;
  if (!escalationId) throw new UsageError(`run ${runId} has no open escalation`);
  const response: HumanResponse = {
    escalationId,
    decision,
    by: fields.by ?? `cli:${userInfo().username}`,
    ...(fields.message !== undefined ? { message: fields.message } : {}),
    ...(fields.turns !== undefined ? { turns: fields.turns } : {}),
    ...(fields.tokens !== undefined ? { tokens: fields.tokens } : {}),
    ...(fields.usd !== undefined ? { usd: fields.usd } : {}),
  };
  try {
    await handle.executeUpdate(respondUpdate, { args: [response] });
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) throw new UsageError(`refused: ${err.cause?.message ?? err.message}`);
    throw err;
  }
  return `${decision} sent for ${escalationId} of ${runId}`;
}
