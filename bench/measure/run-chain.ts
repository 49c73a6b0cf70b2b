import { Client, Connection } from '@temporalio/client';
import { eventBytes, type HistoryEvent } from './turns.js';

export interface RunHistory {
  runId: string;
  /** How the run closed: completed, continued-as-new, terminated, … (or running). */
  closedAs: string;
  events: HistoryEvent[];
  /** Sum of the encoded events. */
  bytes: number;
  /** What the server reports for the run (`historySizeBytes`, `historyLength`). */
  serverBytes: number | undefined;
  serverEvents: number;
}

/**
 * A client for reading large histories. The SDK's default connection keeps grpc-js's 4 MiB receive
 * limit (its 128 MB default is set as `max_receive_message_length`, a key grpc-js ignores), and one
 * page of a naive history is larger than that.
 */
export async function connectHistoryReader(address: string): Promise<Client> {
  const connection = await Connection.connect({
    address,
    channelArgs: { 'grpc.max_receive_message_length': 256 * 2 ** 20 },
  });
  return new Client({ connection });
}

/** The closing event's attribute name, without the noise: `workflowExecutionContinuedAsNew…` → `continued-as-new`. */
function closedAs(last: HistoryEvent | undefined): string {
  const closings: [keyof HistoryEvent, string][] = [
    ['workflowExecutionCompletedEventAttributes', 'completed'],
    ['workflowExecutionContinuedAsNewEventAttributes', 'continued-as-new'],
    ['workflowExecutionFailedEventAttributes', 'failed'],
    ['workflowExecutionTerminatedEventAttributes', 'terminated'],
    ['workflowExecutionTimedOutEventAttributes', 'timed out'],
    ['workflowExecutionCanceledEventAttributes', 'canceled'],
  ];
  return closings.find(([key]) => last?.[key])?.[1] ?? 'running';
}

/**
 * Every run of a workflow id from the first, following continue-as-new through each run's closing
 * event (`newExecutionRunId`). The history is authoritative here, where a visibility list query is
 * only eventually consistent.
 */
export async function fetchRunChain(client: Client, workflowId: string, firstRunId: string): Promise<RunHistory[]> {
  const runs: RunHistory[] = [];
  for (let runId: string | undefined = firstRunId; runId;) {
    const handle = client.workflow.getHandle(workflowId, runId);
    const [history, description] = await Promise.all([handle.fetchHistory(), handle.describe()]);
    const events: HistoryEvent[] = history.events ?? [];
    const last: HistoryEvent | undefined = events.at(-1);
    runs.push({
      runId,
      closedAs: closedAs(last),
      events,
      bytes: events.reduce((n, e) => n + eventBytes(e), 0),
      serverBytes: description.historySize,
      serverEvents: description.historyLength,
    });
    runId = last?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
  }
  return runs;
}
