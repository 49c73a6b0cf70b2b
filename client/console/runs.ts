/**
 * The console's list: one visibility page per request, so a namespace with thousands of runs is
 * read a page at a time with Temporal's next page token.
 */
import type { Client } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import { decodeTypedSearchAttributes } from '@temporalio/common/lib/converter/payload-search-attributes.js';
import { decodeMapFromPayloads } from '@temporalio/common/lib/internal-non-workflow/codec-helpers.js';
import proto from '@temporalio/proto';
import { AGENT_RUN_WORKFLOW, type RunMemo, type VisibleStatus } from '../../common/messages.js';
import { LONGHAUL_STATUS } from '../../common/search-attributes.js';
import { unreadableReason, type ListedRun } from '../listing.js';

const Status = proto.temporal.api.enums.v1.WorkflowExecutionStatus;

/** A listed run with what the console shows of it (what client/listing.ts is to yield too). */
export type ConsoleRun = ListedRun & { runId: string; closeTime?: Date; historyLength: number; memo?: RunMemo };

export const STATUSES: readonly VisibleStatus[] = [
  'running',
  'awaiting_human',
  'completed',
  'stopped',
  'failed',
  'cancelled',
  'continued',
];

/** Only what a run id may hold (client/connect.ts), so a prefix never changes the query around it. */
const PREFIX = /^[A-Za-z0-9._:@-]{1,200}$/;

/** The visibility query for the list's filters; a bad filter is a one-line error naming it. */
export function listQuery(filters: { status?: string | undefined; prefix?: string | undefined }): string {
  const parts = [`WorkflowType = '${AGENT_RUN_WORKFLOW}'`];
  const { status, prefix } = filters;
  if (status) {
    if (!STATUSES.includes(status as VisibleStatus))
      throw new RangeError(
        `status: expected one of ${STATUSES.join(', ')}, got ${JSON.stringify(status.slice(0, 40))}`,
      );
    parts.push(`LonghaulStatus = '${status}'`);
  }
  // A run that continued as new is not the chain's live end: only a filter for them shows them.
  if (status !== 'continued') parts.push(`ExecutionStatus != 'ContinuedAsNew'`);
  if (prefix) {
    if (!PREFIX.test(prefix))
      throw new RangeError(
        `id prefix: only letters, digits and . _ - : @ are allowed, got ${JSON.stringify(prefix.slice(0, 40))}`,
      );
    parts.push(`WorkflowId STARTS_WITH '${prefix}'`);
  }
  return parts.join(' AND ');
}

const time = (t: { seconds?: unknown; nanos?: number | null } | null | undefined): Date | undefined =>
  t?.seconds == null ? undefined : new Date(Number(t.seconds) * 1000 + Math.floor((t.nanos ?? 0) / 1e6));

function statusName(code: number | null | undefined): string {
  const name = (Status[code ?? 0] ?? 'WORKFLOW_EXECUTION_STATUS_UNSPECIFIED').replace('WORKFLOW_EXECUTION_STATUS_', '');
  return name === 'CANCELED' ? 'CANCELLED' : name === 'UNSPECIFIED' ? 'UNKNOWN' : name;
}

/** One page of the runs matching `query`, newest first, each readable or marked as not. */
export async function listReadablePage(
  client: Client,
  query: string,
  { pageSize = 50, nextPageToken }: { pageSize?: number; nextPageToken?: Uint8Array | undefined } = {},
): Promise<{ runs: ConsoleRun[]; nextPageToken?: Uint8Array }> {
  const { namespace, loadedDataConverter } = client.options;
  const page = await client.workflowService.listWorkflowExecutions({
    namespace,
    query,
    pageSize,
    ...(nextPageToken ? { nextPageToken } : {}),
  });
  const runs: ConsoleRun[] = [];
  for (const raw of page.executions ?? []) {
    const workflowId = raw.execution?.workflowId ?? '';
    const fields = (raw.memo?.fields ?? {}) as Record<string, Payload>;
    let memo: RunMemo | undefined;
    let unreadable: string | undefined;
    try {
      const decoded = await decodeMapFromPayloads(loadedDataConverter, fields, {
        type: 'workflow',
        namespace,
        workflowId,
      });
      if (decoded && 'status' in decoded) memo = decoded as unknown as RunMemo;
    } catch (err) {
      unreadable = unreadableReason(fields, err);
    }
    const closeTime = time(raw.closeTime);
    runs.push({
      workflowId,
      runId: raw.execution?.runId ?? '',
      startTime: time(raw.startTime) ?? new Date(0),
      ...(closeTime ? { closeTime } : {}),
      historyLength: Number(raw.historyLength ?? 0),
      temporalStatus: statusName(raw.status),
      status: decodeTypedSearchAttributes(raw.searchAttributes?.indexedFields).get(LONGHAUL_STATUS),
      ...(memo ? { memo } : {}),
      ...(unreadable ? { unreadable } : {}),
    });
  }
  return { runs, ...(page.nextPageToken?.length ? { nextPageToken: page.nextPageToken } : {}) };
}
