/**
 * A run's status as far as it can be known: a worker's query when one answers in time, a closed
 * run's result (which needs no worker), or else the memo (which visibility keeps), saying so.
 */
import { isGrpcDeadlineError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { AgentRunWorkflow, Progress, RunMemo } from '../common/messages.js';
import { progressQuery } from '../common/messages.js';
import { buildProgress } from '../common/progress.js';
import { awaitResult } from './export.js';
import { childrenText, memoLine, progressLine, type LiveChildren } from './format.js';
import { describeReadable, shownStatus } from './listing.js';

/**
 * How long the CLI waits for a worker to answer a query before it says what it knows without one.
 * A polling worker answers in tens of milliseconds; this leaves room for one that replays a long history.
 */
export const QUERY_WAIT_MS = 1_000;
/** How long an answer or a stop waits for a worker to accept it. */
export const UPDATE_WAIT_MS = 10_000;

const seconds = (ms: number) => `${ms / 1000} s`;

/** A call cut off by its deadline (the SDK passes the gRPC error on, or wraps it). */
export const isDeadline = (err: unknown): boolean =>
  isGrpcDeadlineError(err) || isGrpcDeadlineError((err as { cause?: unknown } | undefined)?.cause);

export type Asked<T> = { ok: true; value: T } | { ok: false; why: string };

/**
 * `ask`'s answer, or why there is none: no worker answered within `ms` (no worker polls the run's
 * queue, or all are down), or the query failed with its reason.
 */
export async function askWorker<T>(
  client: Pick<Client, 'withDeadline'>,
  ask: () => Promise<T>,
  ms = QUERY_WAIT_MS,
): Promise<Asked<T>> {
  try {
    return { ok: true, value: await client.withDeadline(Date.now() + ms, ask) };
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw err;
    return {
      ok: false,
      why: isDeadline(err)
        ? `no worker answered within ${seconds(ms)}`
        : `the query failed: ${(err as Error).message.split('\n')[0]}`,
    };
  }
}

export interface RunStatusView {
  runId: string;
  /** Temporal's status (RUNNING, COMPLETED, CANCELLED, …). */
  temporalStatus: string;
  /** The status shown: longhaul's, or Temporal's for a run Temporal closed (never `running` for a closed run). */
  status: string;
  /** Where the figures come from: a worker's query, the closed run's result, or the memo; none when nothing said. */
  source: 'query' | 'result' | 'memo' | 'none';
  progress?: Progress;
  memo?: RunMemo;
  /** What could not be known, and why, in one line; absent when a worker or the result answered. */
  note?: string;
  /** The running children's own progress, from their workers (those that answered in time). */
  live?: LiveChildren;
}

/** What `longhaul status` shows of a run. Throws for a run that does not exist. */
export async function readStatus(client: Client, runId: string): Promise<RunStatusView> {
  const run = await describeReadable(client, runId);
  if (!run) throw new Error(`no run with id ${JSON.stringify(runId)}`);
  const handle = client.workflow.getHandle<AgentRunWorkflow>(runId);
  const { temporalStatus } = run;
  const base = { runId, temporalStatus, ...(run.memo ? { memo: run.memo } : {}) };
  // A closed run's result says it all, without a worker (a result from before it carried maxTurns does not).
  if (temporalStatus === 'COMPLETED' || temporalStatus === 'FAILED') {
    const result = await awaitResult(handle).catch(() => undefined);
    if (result?.maxTurns !== undefined) {
      const progress = buildProgress({ ...result, maxTurns: result.maxTurns }, result.status, result.reason);
      return { ...base, status: progress.status, source: 'result', progress };
    }
  }
  const asked = await askWorker(client, () => handle.query(progressQuery));
  if (asked.ok) {
    const live = await askChildren(client, asked.value);
    const status = shownStatus(asked.value.status, temporalStatus);
    return { ...base, status, source: 'query', progress: asked.value, ...(live ? { live } : {}) };
  }
  const status = shownStatus(run.memo?.status ?? run.status, temporalStatus);
  const live = temporalStatus === 'RUNNING' ? `; live figures need a worker polling task queue ${run.taskQueue}` : '';
  const why = run.unreadable ? `${asked.why}, and the memo is unreadable here: ${run.unreadable}` : asked.why;
  if (!run.memo) return { ...base, status, source: 'none', note: `only the status is known: ${why}${live}` };
  return { ...base, status, source: 'memo', note: `from the memo, which may be a few turns behind: ${why}${live}` };
}

/** The running children's progress, each asked at once for at most QUERY_WAIT_MS; undefined without running children. */
async function askChildren(client: Client, p: Progress): Promise<LiveChildren | undefined> {
  const running = (p.children ?? []).filter((c) => c.status === 'running');
  if (!running.length) return undefined;
  const asked = await Promise.all(
    running.map((c) =>
      askWorker(client, () => client.workflow.getHandle(c.workflowId).query(progressQuery)).catch(() => undefined),
    ),
  );
  return Object.fromEntries(running.flatMap((c, i) => (asked[i]?.ok ? [[c.workflowId, asked[i].value]] : [])));
}

/** The status line, and below it what could not be known. */
export function statusText(view: RunStatusView): string {
  const line = view.progress
    ? progressLine(view.progress, view.status)
    : view.memo
      ? memoLine(view.memo, view.status)
      : view.status;
  const children = view.progress ? childrenText(view.progress.children, view.progress.totals, view.live) : '';
  return [line, ...(view.note ? [`(${view.note})`] : []), ...(children ? [children] : [])].join('\n');
}
