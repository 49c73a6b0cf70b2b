/**
 * Listing runs so that one this client cannot read does not hide the others. The SDK's
 * `workflow.list()` decodes every run's memo with the client's data converter and throws on the
 * first it cannot decode (an encrypted run, for a client without its key), ending the whole
 * listing; here each run is decoded on its own, and one that fails is listed as unreadable.
 */
import type { Client } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import { decodeTypedSearchAttributes } from '@temporalio/common/lib/converter/payload-search-attributes.js';
import { decodeMapFromPayloads } from '@temporalio/common/lib/internal-non-workflow/codec-helpers.js';
import proto from '@temporalio/proto';
import { ENCRYPTED_ENCODING, KEY_ID_METADATA } from '../config/codec.js';
import { EscalationKind } from '../common/escalation.js';
import type { MemoEscalation, RunMemo, VisibleStatus } from '../common/messages.js';
import { LONGHAUL_STATUS } from '../common/search-attributes.js';

/** gRPC's status code NOT_FOUND (a raw service call throws the gRPC error, not the SDK's WorkflowNotFoundError). */
const GRPC_NOT_FOUND = 5;
const Status = proto.temporal.api.enums.v1.WorkflowExecutionStatus;

export interface ListedRun {
  workflowId: string;
  /** Temporal's id of this run of the chain (each continue-as-new starts another). */
  runId: string;
  startTime: Date;
  /** Absent while the run is open. */
  closeTime?: Date;
  historyLength: number;
  /** The task queue its workflow tasks go to: the workers that answer its queries and updates poll it. */
  taskQueue: string;
  /** Temporal's status, named as the SDK names it (RUNNING, COMPLETED, CANCELLED, …). */
  temporalStatus: string;
  /** longhaul's status (a search attribute: never encrypted, so known for every run); absent before the worker set it. */
  status: VisibleStatus | undefined;
  /** The memo the workflow keeps (common/messages.ts), decoded; absent when unreadable or not yet written. */
  memo?: RunMemo;
  /** Why this client cannot read the run's memo, queries and result; absent when it can. */
  unreadable?: string;
}

const text = (bytes: Uint8Array | null | undefined) => (bytes ? Buffer.from(bytes).toString('utf8') : '');

/** Why a memo cannot be decoded here, in a person's words: a key this client lacks, or the decoder's error. */
export function unreadableReason(fields: Record<string, Payload>, err: unknown): string {
  const sealed = Object.values(fields).find((p) => text(p.metadata?.encoding) === ENCRYPTED_ENCODING);
  if (!sealed) return `its payloads cannot be decoded here (${(err as Error).message})`;
  const key = text(sealed.metadata?.[KEY_ID_METADATA]);
  return `encrypted with key "${key}", which this client does not have (LONGHAUL_ENCRYPTION_KEYS)`;
}

type Timestamp = { seconds?: { toString(): string } | number | null; nanos?: number | null } | null | undefined;

const dateOf = (t: Timestamp): Date | undefined =>
  t?.seconds == null ? undefined : new Date(Number(t.seconds) * 1000 + Math.floor((t.nanos ?? 0) / 1e6));

function statusName(code: number | null | undefined): string {
  const name = (Status[code ?? 0] ?? 'WORKFLOW_EXECUTION_STATUS_UNSPECIFIED').replace('WORKFLOW_EXECUTION_STATUS_', '');
  return name === 'CANCELED' ? 'CANCELLED' : name === 'UNSPECIFIED' ? 'UNKNOWN' : name;
}

type RawExecution = NonNullable<
  Awaited<ReturnType<Client['workflowService']['listWorkflowExecutions']>>['executions']
>[number];

/** One execution as visibility returned it, its memo decoded here (or marked unreadable). */
async function listedRun(client: Client, raw: RawExecution): Promise<ListedRun> {
  const { namespace, loadedDataConverter } = client.options;
  const workflowId = raw.execution?.workflowId ?? '';
  const fields = (raw.memo?.fields ?? {}) as Record<string, Payload>;
  let unreadable: string | undefined;
  let memo: RunMemo | undefined;
  try {
    const decoded = await decodeMapFromPayloads(loadedDataConverter, fields, {
      type: 'workflow',
      namespace,
      workflowId,
    });
    // The workflow writes the memo at its first status change; before that there is none.
    if (decoded && 'status' in decoded) memo = decoded as unknown as RunMemo;
  } catch (err) {
    unreadable = unreadableReason(fields, err);
  }
  const closeTime = dateOf(raw.closeTime);
  return {
    workflowId,
    runId: raw.execution?.runId ?? '',
    startTime: dateOf(raw.startTime) ?? new Date(0),
    ...(closeTime ? { closeTime } : {}),
    historyLength: Number(raw.historyLength ?? 0),
    taskQueue: raw.taskQueue ?? '',
    temporalStatus: statusName(raw.status),
    status: decodeTypedSearchAttributes(raw.searchAttributes?.indexedFields).get(LONGHAUL_STATUS) as
      VisibleStatus | undefined,
    ...(memo ? { memo } : {}),
    ...(unreadable ? { unreadable } : {}),
  };
}

/**
 * The latest run with this workflow id, as `listReadable` lists it, from describe: current where
 * visibility may lag a moment. Undefined when no run has the id.
 */
export async function describeReadable(client: Client, workflowId: string): Promise<ListedRun | undefined> {
  try {
    const described = await client.workflowService.describeWorkflowExecution({
      namespace: client.options.namespace,
      execution: { workflowId },
    });
    return described.workflowExecutionInfo ? await listedRun(client, described.workflowExecutionInfo) : undefined;
  } catch (err) {
    if ((err as { code?: unknown }).code === GRPC_NOT_FOUND) return undefined;
    throw err;
  }
}

/**
 * One page of the runs matching a visibility query (one server call), each readable or marked as
 * not; `nextPageToken` is absent on the last page.
 */
export async function listReadablePage(
  client: Client,
  query: string,
  { pageSize, nextPageToken }: { pageSize?: number; nextPageToken?: Uint8Array | undefined } = {},
): Promise<{ runs: ListedRun[]; nextPageToken?: Uint8Array }> {
  const page = await client.workflowService.listWorkflowExecutions({
    namespace: client.options.namespace,
    query,
    ...(pageSize ? { pageSize } : {}),
    ...(nextPageToken?.length ? { nextPageToken } : {}),
  });
  const runs = await Promise.all((page.executions ?? []).map((raw) => listedRun(client, raw)));
  return { runs, ...(page.nextPageToken?.length ? { nextPageToken: page.nextPageToken } : {}) };
}

/** The runs matching a visibility query, in visibility's order (close time, open runs first), each readable or marked as not. */
export async function* listReadable(client: Client, query: string): AsyncIterable<ListedRun> {
  let nextPageToken: Uint8Array | undefined;
  do {
    const page = await listReadablePage(client, query, { nextPageToken });
    yield* page.runs;
    nextPageToken = page.nextPageToken;
  } while (nextPageToken);
}

/** One line per run this client cannot read, for under a table. */
export const unreadableLines = (runs: { runId: string; unreadable?: string }[]): string[] =>
  runs.flatMap((r) => (r.unreadable ? [`cannot read ${r.runId}: ${r.unreadable}`] : []));

/**
 * The status to show for a run: longhaul's, unless Temporal closed the run while longhaul's still
 * says it lives (cancelled, terminated or timed out before the workflow could record it), in which
 * case Temporal's, in longhaul's words. A closed run never shows as running.
 */
export function shownStatus(status: string | undefined, temporalStatus: string): string {
  const live = status === undefined || status === 'running' || status === 'awaiting_human';
  if (temporalStatus === 'RUNNING' || !live) return status ?? 'unknown';
  return temporalStatus === 'CONTINUED_AS_NEW' ? 'continued' : temporalStatus.toLowerCase();
}

/** What the memo says of the open escalation; some fields are unknown in memos from before `escalation`. */
export type MemoQuestion = Pick<MemoEscalation, 'id' | 'kind' | 'question'> & Partial<MemoEscalation>;

/**
 * The open escalation as the memo records it: `escalation`, or in memos written before it,
 * `waitingOnPerson` (`kind id: question`); undefined when the memo names none.
 */
export function memoQuestion(memo: RunMemo | undefined): MemoQuestion | undefined {
  if (memo?.escalation) return memo.escalation;
  const match = memo?.waitingOnPerson ? /^(\w+) (\S+): ([\s\S]*)$/.exec(memo.waitingOnPerson) : null;
  const kind = EscalationKind.safeParse(match?.[1]);
  if (!match || !kind.success) return undefined;
  return { kind: kind.data, id: match[2]!, question: match[3]! };
}
