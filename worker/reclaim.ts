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

export function workerSelf(): WorkerSelf {
  const host = hostname();
  const identity = `${process.pid}@${host} ${randomUUID().slice(0, 8)}`;
  identitiesHere.add(identity);
  return { pid: process.pid, host, identity, here: identitiesHere };
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
export function workerGone(identity: string, self: WorkerSelf, exists: (pid: number) => boolean = processExists): boolean {
  const match = /^(\d+)@(\S+)/.exec(identity);
  if (!match || match[2] !== self.host || self.here.has(identity)) return false;
  const pid = Number(match[1]);
  return pid === self.pid || !exists(pid);
}

export interface Reclaimed {
  runs: number;
  activities: { workflowId: string; activityType: string; worker: string }[];
}

const LIST_PAGE = 500;
const STARTED = proto.temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED;
const DESCRIBE_AT_ONCE = 16;

/** Fails the started activities of gone workers among the running runs of `taskQueue`. */
export async function reclaimOrphans(service: WorkflowService, namespace: string, taskQueue: string, self: WorkerSelf): Promise<Reclaimed> {
  const executions: proto.temporal.api.common.v1.IWorkflowExecution[] = [];
  let nextPageToken: Uint8Array | undefined;
  do {
    const page = await service.listWorkflowExecutions({
      namespace,
      pageSize: LIST_PAGE,
      query: `TaskQueue = '${taskQueue.replace(/'/g, "\\'")}' AND ExecutionStatus = 'Running'`,
      ...(nextPageToken ? { nextPageToken } : {}),
    });
    for (const info of page.executions ?? []) if (info.execution) executions.push(info.execution);
    nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
  } while (nextPageToken);

  const reclaimed: Reclaimed['activities'] = [];
  for (let i = 0; i < executions.length; i += DESCRIBE_AT_ONCE) {
    await Promise.all(
      executions.slice(i, i + DESCRIBE_AT_ONCE).map(async (execution) => {
        const described = await service.describeWorkflowExecution({ namespace, execution });
        const orphans = (described.pendingActivities ?? []).filter(
          (a) => a.state === STARTED && workerGone(a.lastWorkerIdentity ?? '', self),
        );
        if (!orphans.length) return;
        // First the sticky queue: the workflow task after the retried activity then goes where a live worker polls.
        await service.resetStickyTaskQueue({ namespace, execution });
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
          reclaimed.push({ workflowId: execution.workflowId!, activityType: a.activityType?.name ?? '?', worker: a.lastWorkerIdentity ?? '' });
        }
      }),
    );
  }
  return { runs: executions.length, activities: reclaimed };
}
