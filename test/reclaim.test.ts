import type { WorkflowHandle } from '@temporalio/client';
import proto from '@temporalio/proto';
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { HEARTBEAT_EVERY_MS } from '../activities/heartbeat.js';
import { startRun } from '../client/connect.js';
import { auditGroundTruth, auditReport } from '../simulator/scenarios/audit.js';
import { pidSpace, stickyState, workerGone, workerSelf, type WorkerSelf } from '../worker/reclaim.js';
import { escalationQuery, humanResponseSignal } from '../common/messages.js';
import { startAuditOn } from './helpers/audit-run.js';
import { holdAfter } from './helpers/gate.js';
import { useHarness, type Harness } from './helpers/harness.js';

const { PendingActivityState, TaskQueueKind, TaskQueueType } = proto.temporal.api.enums.v1;
const STARTED = PendingActivityState.PENDING_ACTIVITY_STATE_STARTED;
/** A user and pid namespace of its own, with its own /proc (as root, or with unprivileged user namespaces). */
const canUnshare = spawnSync('unshare', ['-Urpf', '--mount-proc', 'true']).status === 0;

/**
 * Where the run's scheduled workflow task waits, once the server has queued it: on the sticky
 * queue it was scheduled on, or on the normal queue. The server sends a task for a sticky queue
 * to the normal queue itself when no poller was seen there for 10 s (a window fixed in its
 * matching service), and on a busy machine its dispatch can come that late.
 */
async function waitingOn(
  h: Pick<Harness, 'env'>,
  handle: WorkflowHandle,
  normal: string,
): Promise<'sticky' | 'normal'> {
  const events = (await handle.fetchHistory()).events ?? [];
  const sticky = events.findLast((e) => e.workflowTaskScheduledEventAttributes)?.workflowTaskScheduledEventAttributes
    ?.taskQueue;
  expect(sticky?.kind).toBe(TaskQueueKind.TASK_QUEUE_KIND_STICKY);
  const queues = [
    ['sticky', { name: sticky!.name!, kind: TaskQueueKind.TASK_QUEUE_KIND_STICKY, normalName: normal }],
    ['normal', { name: normal, kind: TaskQueueKind.TASK_QUEUE_KIND_NORMAL }],
  ] as const;
  for (;;) {
    for (const [where, taskQueue] of queues) {
      const { taskQueueStatus } = await h.env.client.workflowService.describeTaskQueue({
        namespace: 'default',
        taskQueue,
        taskQueueType: TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        includeTaskQueueStatus: true,
      });
      if (Number(taskQueueStatus?.backlogCountHint ?? 0) > 0) return where;
    }
    await sleep(50);
  }
}

/**
 * Heartbeats the first attempt of an activity that the dead worker `pid` started, on its behalf,
 * until a new worker has reclaimed it: the 5 s heartbeat timeout (workflows/activities.ts) then cannot
 * fail the attempt first, however long the new worker takes to start on a busy machine.
 */
async function beatForTheDead(h: Pick<Harness, 'env'>, handle: WorkflowHandle, pid: number): Promise<void> {
  const orphan = async () => {
    const { raw } = await handle.describe();
    const activity = raw.pendingActivities?.find(
      (a) => a.attempt === 1 && a.state === STARTED && a.lastWorkerIdentity?.startsWith(`${pid}@`),
    );
    return activity && { activity, runId: raw.workflowExecutionInfo!.execution!.runId! };
  };
  for (let found = await orphan(); found; found = await orphan()) {
    const { activity, runId } = found;
    await h.env.client.workflowService
      .recordActivityTaskHeartbeatById({
        namespace: 'default',
        workflowId: handle.workflowId,
        runId,
        activityId: activity.activityId!,
        details: activity.heartbeatDetails ?? null,
        identity: 'reclaim test',
      })
      // Reclaimed between the look and the beat: the loop ends.
      .catch(async (err: unknown) => {
        if (await orphan()) throw err;
      });
    await sleep(HEARTBEAT_EVERY_MS);
  }
}

describe('which workers count as gone', () => {
  const boot = 'f035066d-95f7-41b1-b671-6f4a0e82fb92';
  const space = { bootId: boot, pidNamespace: '4026531836' };
  const at = (pid: number, token: string, where = `box ${token} boot=${boot} pidns=4026531836`) => `${pid}@${where}`;
  const self: WorkerSelf = {
    pid: 100,
    host: 'box',
    space,
    identity: at(100, 'aaaa1111'),
    here: new Set([at(100, 'aaaa1111'), at(100, 'bbbb2222')]),
  };
  const exists = (pid: number) => pid === 200;

  it('a worker of this host, boot and pid namespace whose process no longer exists, or whose pid this process now has', () => {
    expect(workerGone(at(300, 'cccc3333'), self, exists)).toBe(true);
    expect(workerGone(at(100, 'dddd4444'), self, exists)).toBe(true); // a predecessor that had our pid here
  });

  it('never a live process, a worker of this process, another host, boot or pid namespace', () => {
    expect(workerGone(at(200, 'cccc3333'), self, exists)).toBe(false);
    expect(workerGone(at(100, 'bbbb2222'), self, exists)).toBe(false);
    expect(workerGone(at(300, 't', `elsewhere t boot=${boot} pidns=4026531836`), self, exists)).toBe(false);
    const otherBoot = '0a1b2c3d-95f7-41b1-b671-6f4a0e82fb92';
    expect(workerGone(at(300, 't', `box t boot=${otherBoot} pidns=4026531836`), self, exists)).toBe(false);
    // A container beside this one with the same hostname: its pid 1 (or any pid) says nothing here.
    expect(workerGone(at(300, 't', `box t boot=${boot} pidns=4026532179`), self, exists)).toBe(false);
    expect(workerGone(at(100, 't', `box t boot=${boot} pidns=4026532179`), self, exists)).toBe(false);
  });

  it('never an identity without a boot and pid namespace, nor anything while this worker has none', () => {
    expect(workerGone('300@box', self, exists)).toBe(false); // the SDK's default identity
    expect(workerGone('300@box cccc3333', self, exists)).toBe(false); // an older longhaul's
    expect(workerGone(`${at(300, 'cccc3333')} extra`, self, exists)).toBe(false);
    expect(workerGone('my-worker', self, exists)).toBe(false);
    expect(workerGone('', self, exists)).toBe(false);
    expect(workerGone(at(300, 'cccc3333'), { ...self, space: null }, exists)).toBe(false);
  });

  it("this process's own identity carries its boot and pid namespace", () => {
    const space = pidSpace();
    expect(space).toEqual({
      bootId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      pidNamespace: expect.stringMatching(/^\d+$/),
    });
    const me = workerSelf();
    expect(me.identity).toBe(
      `${process.pid}@${me.host} ${me.identity.split(' ')[1]} boot=${space!.bootId} pidns=${space!.pidNamespace}`,
    );
    // Judged by a worker of another process in the same place, it is alive (this process exists).
    expect(workerGone(me.identity, { ...me, pid: 1, identity: 'other', here: new Set() })).toBe(false);
  });
});

describe("a run's sticky state, from its newest events", () => {
  const scheduled = (kind: number) => ({
    workflowTaskScheduledEventAttributes: { taskQueue: { name: `q-${kind}`, kind } },
  });
  const completed = { workflowTaskCompletedEventAttributes: { identity: '7@box t' } };
  const started = { workflowTaskStartedEventAttributes: {} };

  it('the worker that completed the last workflow task, and the sticky queue a task waits on unstarted', () => {
    expect(
      stickyState([scheduled(2), { workflowExecutionSignaledEventAttributes: {} }, completed, started, scheduled(2)]),
    ).toEqual({ holder: '7@box t', waitingOn: 'q-2' });
    expect(stickyState([started, scheduled(2), completed])).toEqual({ holder: '7@box t', waitingOn: null });
    expect(stickyState([scheduled(1), completed])).toEqual({ holder: '7@box t', waitingOn: null });
    expect(stickyState([scheduled(1)])).toEqual({ holder: null, waitingOn: null });
  });
});

describe('a worker started after a SIGKILL reclaims what its predecessor left', () => {
  const h = useHarness();

  it('fails the orphaned attempt as WorkerGone instead of waiting for its heartbeat timeout, and the run completes', async () => {
    const queue = `reclaim-${Math.random().toString(36).slice(2, 8)}`;
    const victim = await h.spawnWorker(queue);
    // The run's first model request is held in the simulator, so the worker dies in the middle of it.
    const gate = holdAfter(h.simulator, 0);
    const { handle } = await startAuditOn({ client: h.env.client, taskQueue: queue, dir: h.dir }, 'reclaim', 2);
    await gate.holding();
    const exited = new Promise((resolve) => victim.once('exit', resolve));
    victim.kill('SIGKILL');
    await exited;
    gate.open();
    const beating = beatForTheDead(h, handle, victim.pid!);
    const successor = await h.spawnWorker(queue);
    try {
      await beating;
      const result = await handle.result();
      expect(result.status).toBe('completed');
      expect(result.report).toBe(auditReport(2, auditGroundTruth(2)));

      const events = (await handle.fetchHistory()).events ?? [];
      const retried = events.map((e) => e.activityTaskStartedEventAttributes).find((s) => (s?.attempt ?? 1) > 1);
      // Failed by the new worker, not by the heartbeat timeout ("activity Heartbeat timeout").
      expect(retried?.lastFailure?.applicationFailureInfo?.type).toBe('WorkerGone');
      expect(retried?.lastFailure?.message).toMatch(
        new RegExp(
          `^the worker ${victim.pid}@\\S+ \\w+ boot=\\S+ pidns=\\d+ running this activity is gone \\(reclaimed by \\d+@`,
        ),
      );
    } finally {
      successor.kill('SIGTERM');
      await new Promise((resolve) => successor.once('exit', resolve));
    }
  }, 120_000);

  it('hands back a workflow task waiting on the dead sticky queue (RESET_STICKY_TASK_QUEUE) instead of letting it time out there', async () => {
    const queue = `reclaim-sticky-${Math.random().toString(36).slice(2, 8)}`;
    // Its runs' workflow tasks wait 10 minutes on its sticky queue, not 3 s: the one below is still
    // there however long the new worker takes to start, so only reclaiming can move it in time.
    const victim = await h.spawnWorker(queue, {}, { stickyTimeout: '10 minutes' });
    const handle = await startRun(
      h.env.client,
      { task: '[sim:ask-human]', workspace: h.dir },
      { taskQueue: queue, workflowId: `reclaim-sticky-${Date.now()}` },
    );
    let escalation = await handle.query(escalationQuery);
    for (; !escalation; escalation = await handle.query(escalationQuery)) await sleep(50);
    const exited = new Promise((resolve) => victim.once('exit', resolve));
    victim.kill('SIGKILL');
    await exited;
    // The answer's workflow task is scheduled on the dead worker's sticky queue.
    await handle.signal(humanResponseSignal, { escalationId: escalation.id, decision: 'reply', message: 'go on' });
    const where = await waitingOn(h, handle, queue);
    const successor = await h.spawnWorker(queue);
    try {
      expect((await handle.result()).report).toBe('human answered: A person replied: go on');
      const events = (await handle.fetchHistory()).events ?? [];
      const failed = events.map((e) => e.workflowTaskFailedEventAttributes).find(Boolean);
      expect(events.some((e) => e.workflowTaskTimedOutEventAttributes)).toBe(false);
      if (where === 'normal') {
        // The server moved it before the new worker came: nothing was left to hand back.
        console.log('[reclaim] the server sent the task to the normal queue itself (no sticky poller for 10 s)');
        expect(failed).toBeUndefined();
        return;
      }
      expect(failed?.cause).toBe(13); // WORKFLOW_TASK_FAILED_CAUSE_RESET_STICKY_TASK_QUEUE
      expect(failed?.failure?.message).toMatch(
        new RegExp(
          `^the worker of sticky queue ${victim.pid}@\\S+ \\w+ boot=\\S+ pidns=\\d+-\\w+ is gone \\(task returned by \\d+@`,
        ),
      );
    } finally {
      successor.kill('SIGTERM');
      await new Promise((resolve) => successor.once('exit', resolve));
    }
  }, 120_000);

  it.skipIf(!canUnshare)(
    canUnshare
      ? "a worker in another pid namespace with the same hostname leaves a live worker's model call alone"
      : 'a worker in another pid namespace … -- SKIPPED: `unshare -Urpf --mount-proc` does not work here',
    async () => {
      const queue = `reclaim-ns-${Math.random().toString(36).slice(2, 8)}`;
      const live = await h.spawnWorker(queue);
      const gate = holdAfter(h.simulator, 0);
      const { handle } = await startAuditOn({ client: h.env.client, taskQueue: queue, dir: h.dir }, 'reclaim-ns', 2);
      await gate.holding();
      const held = async () => (await handle.describe()).raw.pendingActivities?.find((a) => a.state === STARTED);
      const before = await held();
      expect(before?.lastWorkerIdentity).toMatch(new RegExp(`^${live.pid}@\\S+ \\w+ boot=\\S+ pidns=\\d+$`));
      // Its own pid namespace (its pid is 1, the live worker's pid does not exist there), the same
      // hostname and kernel: what a second container with host networking sees. It resolves once its
      // look for gone workers' work is done ("reclaimed …": worker/plugin.ts logs it at DEBUG when nothing was).
      const neighbour = await h.spawnWorker(
        queue,
        { LONGHAUL_LOG_LEVEL: 'DEBUG' },
        { within: ['unshare', '-Urpf', '--mount-proc', '--kill-child'], until: 'reclaimed' },
      );
      try {
        // Had it judged the live worker gone, the attempt would have been failed before that line.
        expect(await held()).toMatchObject({ attempt: 1, lastWorkerIdentity: before!.lastWorkerIdentity });
        gate.open();
        const result = await handle.result();
        expect(result.report).toBe(auditReport(2, auditGroundTruth(2)));
        const events = (await handle.fetchHistory()).events ?? [];
        // Each model call made once: no activity was retried, none failed as WorkerGone.
        expect(events.filter((e) => (e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1)).toEqual([]);
        expect(events.some((e) => e.activityTaskFailedEventAttributes)).toBe(false);
      } finally {
        for (const child of [neighbour, live]) {
          const exited = new Promise((resolve) => child.once('exit', resolve));
          child.kill('SIGKILL');
          await exited;
        }
      }
    },
    120_000,
  );
});
