import type { Client } from '@temporalio/client';

export interface RunHistory {
  runId: string;
  events: number;
  bytes: number;
}

/** Every Temporal run of a workflow id (its continue-as-new chain), oldest first, with history sizes. */
export async function chainHistories(client: Client, workflowId: string): Promise<RunHistory[]> {
  const runs: RunHistory[] = [];
  for await (const run of client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) {
    runs.push({ runId: run.runId, events: run.historyLength, bytes: run.historySize ?? 0 });
  }
  return runs.reverse();
}
