import { WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { userInfo } from 'node:os';
import type { agentRun } from '../workflows/agent.js';
import type { Decision, Escalation, HumanResponse } from '../workflows/escalation.js';
import { escalationQuery, respondUpdate } from '../workflows/messages.js';
import { UsageError } from './run-flags.js';

export interface PendingRun {
  runId: string;
  escalation: Escalation;
}

/** Runs waiting on a person, found through the search attribute, with their open escalation. */
export async function listPending(client: Client): Promise<PendingRun[]> {
  const pending: PendingRun[] = [];
  for await (const run of client.workflow.list({ query: `LonghaulStatus = 'awaiting_human' AND ExecutionStatus = 'Running'` })) {
    const escalation = await client.workflow.getHandle(run.workflowId).query(escalationQuery).catch(() => null);
    if (escalation) pending.push({ runId: run.workflowId, escalation });
  }
  return pending;
}

export function pendingTable(pending: PendingRun[]): string {
  if (pending.length === 0) return 'no run is waiting on a person';
  const rows = pending.map(({ runId, escalation: e }) => [runId, e.id, e.kind, e.deadline.slice(0, 19).replace('T', ' '), e.question]);
  const head = ['RUN', 'ESCALATION', 'KIND', 'DEADLINE (UTC)', 'QUESTION'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < cells.length - 1 ? c.padEnd(widths[i]!) : c)).join('  ');
  return [line(head), ...rows.map(line)].join('\n');
}

/**
 * Sends an answer through the `respond` update: the workflow's validator checks it against the
 * open escalation, so a refused answer comes back with its reason and leaves the run unchanged.
 */
export async function answer(
  client: Client,
  runId: string,
  decision: Decision,
  fields: { escalationId?: string; message?: string; turns?: number; tokens?: number },
): Promise<string> {
  const handle = client.workflow.getHandle<typeof agentRun>(runId);
  const escalationId = fields.escalationId ?? (await handle.query(escalationQuery))?.id;
  if (!escalationId) throw new UsageError(`run ${runId} has no open escalation`);
  const response: HumanResponse = {
    escalationId,
    decision,
    by: `cli:${userInfo().username}`,
    ...(fields.message !== undefined ? { message: fields.message } : {}),
    ...(fields.turns !== undefined ? { turns: fields.turns } : {}),
    ...(fields.tokens !== undefined ? { tokens: fields.tokens } : {}),
  };
  try {
    await handle.executeUpdate(respondUpdate, { args: [response] });
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) throw new UsageError(`refused: ${err.cause?.message ?? err.message}`);
    throw err;
  }
  return `${decision} sent for ${escalationId} of ${runId}`;
}
