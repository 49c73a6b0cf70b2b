/**
 * The visibility query behind `longhaul list` and the console's list: one builder, so that a
 * filter means the same in both. The console reads it one visibility page per request
 * (client/listing.ts listReadablePage), so thousands of runs are read a page at a time.
 */
import { AGENT_RUN_WORKFLOW, type VisibleStatus } from '../common/messages.js';

export const LIST_STATUSES = [
  'running',
  'awaiting_human',
  'completed',
  'stopped',
  'failed',
  'cancelled',
  'continued',
] as const satisfies readonly VisibleStatus[];
export type ListStatus = (typeof LIST_STATUSES)[number];

/** Only what a run id may hold (client/connect.ts), so a prefix never changes the query around it. */
const PREFIX = /^[A-Za-z0-9._:@-]{1,200}$/;

/**
 * A live status needs a live run (a terminated run keeps the status it last published); a
 * cancelled run is Temporal's Canceled, also when it was cancelled before it could say so.
 */
function statusClause(status: ListStatus): string {
  if (status === 'cancelled') return `ExecutionStatus = 'Canceled'`;
  const live = status === 'running' || status === 'awaiting_human';
  return `LonghaulStatus = '${status}'${live ? ` AND ExecutionStatus = 'Running'` : ''}`;
}

/** The query for the list's filters; a bad filter is a one-line error naming it. */
export function runsQuery(filters: { status?: string | undefined; prefix?: string | undefined }): string {
  const parts = [`WorkflowType = '${AGENT_RUN_WORKFLOW}'`];
  const { status, prefix } = filters;
  if (status) {
    if (!(LIST_STATUSES as readonly string[]).includes(status))
      throw new RangeError(
        `status: expected one of ${LIST_STATUSES.join(', ')}, got ${JSON.stringify(status.slice(0, 40))}`,
      );
    parts.push(statusClause(status as ListStatus));
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
