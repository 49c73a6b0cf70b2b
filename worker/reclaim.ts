/**
 * Reclaiming a dead predecessor's work. A worker killed in the middle of a model call leaves the
 * activity "started" on the server until its heartbeat timeout (5 s) expires, and the run's next
 * workflow task goes to the dead worker's sticky queue for 3 s more. A worker that starts on the
 * same host can tell that the worker that started such an activity is gone (its process no longer
 * exists), fail the attempt at once (Temporal retries it at once, here or elsewhere) and send the
 * run's workflow tasks to the normal queue. A worker on another host is never judged: for it the
 * timeouts stay the bound.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { NativeConnection } from '@temporalio/worker';
import proto from '@temporalio/proto';
import { AGENT_RUN_WORKFLOW } from '../common/messages.js';

type WorkflowService = NativeConnection['workflowService'];

/** Who this worker is: `pid@host token`; the token tells a predecessor that had the same pid apart. */
export interface WorkerSelf {
  pid: number;
  host: string;
  identity: string;
  /** Identities of the workers of this process (a process may run several: tests, several queues). */
  here: ReadonlySet<string>;
}

const identitiesHere = new Set<string>();

/** A new identity, or the one a worker was given (then a predecessor with the same one is never judged gone). */
export function workerSelf(identity = `${process.pid}@${hostname()} ${randomUUID().slice(0, 8)}`): WorkerSelf {
  identitiesHere.add(identity);
  return { pid: process.pid, host: hostname(), identity, here: identitiesHere };
}

/** Whether a process with this pid exists on this host (EPERM: it exists, but is not ours). */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether the worker of `identity` is certainly gone: it ran on this host, it is none of this
 * process's workers, and its process no longer exists or this process now has its pid (a restarted
 * container's pid 1). Identities of other hosts or of another form are never judged gone.
 */
export function workerGone(
  identity: string,
  self: WorkerSelf,
  exists: (pid: number) => boolean = processExists,
): boolean {
  const match = /^(\d+)@(\S+)/.exec(identity);
  if (!match || match[2] !== self.host || self.here.has(identity)) return false;
  const pid = Number(match[1]);
  return pid === self.pid || !exists(pid);
}

export interface Reclaimed {
  runs: number;
  /** Runs whose sticky queue belonged to a gone worker, sent back to the normal queue. */
  stickyResets: number;
  /** Workflow tasks taken from a gone worker's sticky queue and handed back to the normal queue. */
  tasksReturned: number;
  activities: { workflowId: string; activityType: string; worker: string }[];
}

type HistoryEvent = proto.temporal.api.history.v1.IHistoryEvent;

const LIST_PAGE = 500;
const STARTED = proto.temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED;
const STICKY = proto.temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_STICKY;
const RESET_STICKY =
  proto.temporal.api.enums.v1.WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_RESET_STICKY_TASK_QUEUE;
const DESCRIBE_AT_ONCE = 16;
/** Enough of the newest events to reach the last completed workflow task. */
const RECENT_EVENTS = 20;
/** How long a poll of a gone worker's sticky queue may wait (the server refuses long polls under 2 s and warns under 10 s). */
const DRAIN_POLL_MS = 10_000;

/**
 * From the newest events (newest first): who holds the run in its cache (the worker that
 * completed its last workflow task), and the sticky queue a workflow task waits on, unstarted.
 */
export function stickyState(newestFirst: HistoryEvent[]): { holder: string | null; waitingOn: string | null } {
  const holder =
    newestFirst.find((e) => e.workflowTaskCompletedEventAttributes)?.workflowTaskCompletedEventAttributes?.identity ??
    null;
  const last = newestFirst.find((e) => e.workflowTaskScheduledEventAttributes || e.workflowTaskStartedEventAttributes);
  const queue = last?.workflowTaskScheduledEventAttributes?.taskQueue;
  return { holder, waitingOn: queue?.kind === STICKY && queue.name ? queue.name : null };
}

async function runningRuns(service: WorkflowService, namespace: string, taskQueue: string) {
  const executions: proto.temporal.api.common.v1.IWorkflowExecution[] = [];
  let nextPageToken: Uint8Array | undefined;
  do {
    const page = await service.listWorkflowExecutions({
      namespace,
      pageSize: LIST_PAGE,
      // Only longhaul's runs: the workflows of the user's own beside them on the queue are theirs.
      query: `TaskQueue = '${taskQueue.replace(/'/g, "\\'")}' AND WorkflowType = '${AGENT_RUN_WORKFLOW}' AND ExecutionStatus = 'Running'`,
      ...(nextPageToken ? { nextPageToken } : {}),
    });
    for (const info of page.executions ?? []) if (info.execution) executions.push(info.execution);
    nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
  } while (nextPageToken);
  return executions;
}

/**
 * Among longhaul's running runs on `taskQueue`: fails the started activities of gone workers;
 * resets the sticky queue of runs a gone worker held; and takes the workflow tasks already waiting
 * on a gone worker's sticky queue and fails them with RESET_STICKY_TASK_QUEUE, which the server
 * reschedules on the normal queue at once (else they wait out the sticky schedule-to-start timeout).
 */
export async function reclaimOrphans(
  connection: NativeConnection,
  namespace: string,
  taskQueue: string,
  self: WorkerSelf,
): Promise<Reclaimed> {
  const service = connection.workflowService;
  const executions = await runningRuns(service, namespace, taskQueue);
  const activities: Reclaimed['activities'] = [];
  let stickyResets = 0;
  let tasksReturned = 0;
  for (let i = 0; i < executions.length; i += DESCRIBE_AT_ONCE) {
    await Promise.all(
      executions.slice(i, i + DESCRIBE_AT_ONCE).map(async (execution) => {
        const described = await service.describeWorkflowExecution({ namespace, execution });
        const orphans = (described.pendingActivities ?? []).filter(
          (a) => a.state === STARTED && workerGone(a.lastWorkerIdentity ?? '', self),
        );
        const recent = await service.getWorkflowExecutionHistoryReverse({
          namespace,
          execution,
          maximumPageSize: RECENT_EVENTS,
        });
        const { holder, waitingOn } = stickyState(recent.history?.events ?? []);
        const held = holder !== null && workerGone(holder, self);
        if (!orphans.length && !held) return;
        // A task already waiting on the dead sticky queue stays there through a reset: take it first.
        if (held && waitingOn && (await returnStickyTask(connection, namespace, taskQueue, waitingOn, self)))
          tasksReturned += 1;
        // Then the sticky queue: the next workflow task goes where a live worker polls.
        await service.resetStickyTaskQueue({ namespace, execution });
        if (held) stickyResets += 1;
        for (const a of orphans) {
          await service.respondActivityTaskFailedById({
            namespace,
            workflowId: execution.workflowId!,
            runId: execution.runId!,
            activityId: a.activityId!,
            identity: self.identity,
            failure: {
              message: `the worker ${a.lastWorkerIdentity} running this activity is gone (reclaimed by ${self.identity})`,
              source: 'longhaul',
              applicationFailureInfo: { type: 'WorkerGone', nonRetryable: false },
            },
          });
          activities.push({
            workflowId: execution.workflowId!,
            activityType: a.activityType?.name ?? '?',
            worker: a.lastWorkerIdentity ?? '',
          });
        }
      }),
    );
  }
  return { runs: executions.length, stickyResets, tasksReturned, activities };
}

/**
 * Takes a workflow task waiting on a gone worker's sticky queue (a run's own, or another run's of
 * the same worker: each is orphaned, and a user's workflow's task taken here only reaches the
 * normal queue sooner) and hands it back; false if none came before the deadline.
 */
async function returnStickyTask(
  connection: NativeConnection,
  namespace: string,
  taskQueue: string,
  name: string,
  self: WorkerSelf,
): Promise<boolean> {
  const service = connection.workflowService;
  const task = await connection
    .withDeadline(Date.now() + DRAIN_POLL_MS, () =>
      service.pollWorkflowTaskQueue({
        namespace,
        taskQueue: { name, kind: STICKY, normalName: taskQueue },
        identity: self.identity,
      }),
    )
    .catch(() => null); // the deadline: the task timed out to the normal queue meanwhile
  if (!task?.taskToken?.length) return false;
  await service.respondWorkflowTaskFailed({
    namespace,
    taskToken: task.taskToken,
    cause: RESET_STICKY,
    identity: self.identity,
    failure: {
      message: `the worker of sticky queue ${name} is gone (task returned by ${self.identity})`,
      source: 'longhaul',
    },
  });
  return true;
}
