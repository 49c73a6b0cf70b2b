import type { WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import type { Harness } from '../../test/helpers/harness.js';
import type { AgentRunWorkflow } from '../../common/messages.js';
import { connectHistoryReader, fetchRunChain } from '../measure/run-chain.js';
import type { HistoryEvent } from '../measure/turns.js';

export type AuditHandle = WorkflowHandleWithFirstExecutionRunId<AgentRunWorkflow>;

export const MODEL_ACTIVITY = 'callModel';
/** A cap reached in an unattended benchmark must end the run, not wait a day for a person. */
export const UNATTENDED = { escalation: { onCap: 'stop' as const } };

const started = Date.now();
export const log = (line: string) =>
  process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}\n`);

/** The events of every run of each handle's chain, in order, one array per handle. */
export async function chainEvents(h: Harness, handles: AuditHandle[]): Promise<HistoryEvent[][]> {
  const client = await connectHistoryReader(h.env.address);
  try {
    const out: HistoryEvent[][] = [];
    for (const handle of handles) {
      const chain = await fetchRunChain(client, handle.workflowId, handle.firstExecutionRunId);
      out.push(chain.flatMap((r) => r.events));
    }
    return out;
  } finally {
    await client.connection.close();
  }
}

export const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;
