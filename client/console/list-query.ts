/**
 * The console's list query. The list is read one visibility page per request
 * (client/listing.ts listReadablePage), so thousands of runs are read a page at a time.
 */
import { AGENT_RUN_WORKFLOW, type VisibleStatus } from '../../common/messages.js';

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
