/**
 * Reclaiming a dead predecessor's work. A worker killed in the middle of a model call leaves the
 * activity "started" on the server until its heartbeat timeout (5 s) expires, and the run's next
 * workflow task goes to the dead worker's sticky queue for 3 s more. A worker that starts where it
 * can prove that the worker that started such an activity is gone (the same kernel boot and pid
 * namespace, and its pid no longer exists there) fails the attempt at once (Temporal retries it at
 * once, here or elsewhere) and sends the run's workflow tasks to the normal queue. Any other worker
 * is never judged (another host, another boot, another pid namespace: containers with host
 * networking share a hostname and each has its own pid 1): for it the timeouts stay the bound.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import type { NativeConnection } from '@temporalio/worker';
import proto from '@temporalio/proto';
import { AGENT_RUN_WORKFLOW } from '../common/messages.js';

type WorkflowService = NativeConnection['workflowService'];

/** Where a pid names one process: a kernel boot, and a pid namespace in it. */
export interface PidSpace {
  bootId: string;
  pidNamespace: string;
}

/**
 * Who this worker is: `pid@host token boot=<boot id> pidns=<pid namespace inode>`; the token tells a
 * predecessor that had the same pid apart.
 */
export interface WorkerSelf {
  pid: number;
  host: string;
  /** Null where the boot or pid namespace cannot be read (not Linux): then no worker is judged gone. */
  space: PidSpace | null;
  identity: string;
  /** Identities of the workers of this process (a process may run several: tests, several queues). */
  here: ReadonlySet<string>;
}

/** This process's kernel boot and pid namespace, from /proc; null when either cannot be read. */
export function pidSpace(): PidSpace | null {
  try {
    const bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    const ns = /^pid:\[(\d+)\]$/.exec(readlinkSync('/proc/self/ns/pid'));
    return /^[0-9a-f-]{36}$/.test(bootId) && ns ? { bootId, pidNamespace: ns[1]! } : null;
  } catch {
    return null;
  }
}

const identitiesHere = new Set<string>();
const here = { pid: process.pid, host: hostname(), space: pidSpace() };

/** The identity a worker of this process gets unless it is given one. */
function newIdentity(): string {
  const { pid, host, space } = here;
  const proof = space ? ` boot=${space.bootId} pidns=${space.pidNamespace}` : '';
  return `${pid}@${host} ${randomUUID().slice(0, 8)}${proof}`;
}

/** A new identity, or the one a worker was given (then a predecessor with the same one is never judged gone). */
export function workerSelf(identity = newIdentity()): WorkerSelf {
  identitiesHere.add(identity);
  return { ...here, identity, here: identitiesHere };
}

/** Whether a process with this pid exists in this pid namespace (EPERM: it exists, but is not ours). */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const PROVABLE = /^(\d+)@(\S+) \S+ boot=([0-9a-f-]{36}) pidns=(\d+)$/;

/**
 * Whether the worker of `identity` is certainly gone: it ran on this host, in this kernel boot and
 * this pid namespace, it is none of this process's workers, and its process no longer exists or
 * this process now has its pid. Identities without a boot and pid namespace (the SDK's default
 * `pid@host`, an older longhaul's `pid@host token`, one a user gave) are never judged: a pid alone
 * does not say which process it was, as two containers' pid 1 with one hostname showed.
 */
export function workerGone(
  identity: string,
  self: WorkerSelf,
  exists: (pid: number) => boolean = processExists,
): boolean {
  const match = PROVABLE.exec(identity);
  if (!match || !self.space || self.here.has(identity)) return false;
  const [, pid, host, bootId, pidNamespace] = match;
  if (host !== self.host || bootId !== self.space.bootId || pidNamespace !== self.space.pidNamespace) return false;
  return Number(pid) === self.pid || !exists(Number(pid));
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
