import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { auditGroundTruth, auditReport } from '../simulator/scenarios/audit.js';
import { stickyState, workerGone, type WorkerSelf } from '../worker/reclaim.js';
import { escalationQuery, humanResponseSignal } from '../common/messages.js';
import { startAuditOn } from './helpers/audit-run.js';
import { startHarness, type Harness } from './helpers/harness.js';

describe('which workers count as gone', () => {
  const self: WorkerSelf = { pid: 100, host: 'box', identity: '100@box aaaa1111', here: new Set(['100@box aaaa1111', '100@box bbbb2222']) };
  const exists = (pid: number) => pid === 200;

  it('a worker of this host whose process no longer exists, or whose pid this process now has', () => {
    expect(workerGone('300@box cccc3333', self, exists)).toBe(true);
    expect(workerGone('300@box', self, exists)).toBe(true); // the SDK's default identity
    expect(workerGone('100@box dddd4444', self, exists)).toBe(true); // a predecessor with our pid (a container's pid 1)
  });

  it('never a live process, a worker of this process, another host, or an identity of another form', () => {
    expect(workerGone('200@box cccc3333', self, exists)).toBe(false);
    expect(workerGone('100@box bbbb2222', self, exists)).toBe(false);
    expect(workerGone('300@elsewhere', self, exists)).toBe(false);
    expect(workerGone('my-worker', self, exists)).toBe(false);
    expect(workerGone('', self, exists)).toBe(false);
  });
});

describe("a run's sticky state, from its newest events", () => {
  const scheduled = (kind: number) => ({ workflowTaskScheduledEventAttributes: { taskQueue: { name: `q-${kind}`, kind } } });
  const completed = { workflowTaskCompletedEventAttributes: { identity: '7@box t' } };
  const started = { workflowTaskStartedEventAttributes: {} };

  it('the worker that completed the last workflow task, and the sticky queue a task waits on unstarted', () => {
    expect(stickyState([scheduled(2), { workflowExecutionSignaledEventAttributes: {} }, completed, started, scheduled(2)])).toEqual({ holder: '7@box t', waitingOn: 'q-2' });
    expect(stickyState([started, scheduled(2), completed])).toEqual({ holder: '7@box t', waitingOn: null });
    expect(stickyState([scheduled(1), completed])).toEqual({ holder: '7@box t', waitingOn: null });
    expect(stickyState([scheduled(1)])).toEqual({ holder: null, waitingOn: null });
  });
});

describe('a worker started after a SIGKILL reclaims what its predecessor left', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h?.close());

  it('fails the orphaned attempt as WorkerGone instead of waiting for its heartbeat timeout, and the run completes', async () => {
    const queue = `reclaim-${Math.random().toString(36).slice(2, 8)}`;
    const victim = await h.spawnWorker(queue);
    const served = h.simulator.stats().faultsServed;
    // The run's first model request hangs in the simulator, so the worker dies in the middle of it.
    h.simulator.injectFaults([{ delayMs: 30_000, match: 'messages' }]);
    const { handle } = await startAuditOn({ client: h.env.client, taskQueue: queue, dir: h.dir }, 'reclaim', 2);
    while (h.simulator.stats().faultsServed === served) await sleep(20);
    const exited = new Promise((resolve) => victim.once('exit', resolve));
    victim.kill('SIGKILL');
    await exited;
    const successor = await h.spawnWorker(queue);
    try {
      const result = await handle.result();
      expect(result.status).toBe('completed');
      expect(result.report).toBe(auditReport(2, auditGroundTruth(2)));

      const events = (await handle.fetchHistory()).events ?? [];
      const retried = events.map((e) => e.activityTaskStartedEventAttributes).find((s) => (s?.attempt ?? 1) > 1);
      // Failed by the new worker, not by the heartbeat timeout ("activity Heartbeat timeout").
      expect(retried?.lastFailure?.applicationFailureInfo?.type).toBe('WorkerGone');
      expect(retried?.lastFailure?.message).toMatch(new RegExp(`^the worker ${victim.pid}@\\S+ \\w+ running this activity is gone \\(reclaimed by \\d+@`));
    } finally {
      successor.kill('SIGTERM');
      await new Promise((resolve) => successor.once('exit', resolve));
    }
  }, 120_000);

  it('hands back a workflow task waiting on the dead sticky queue (RESET_STICKY_TASK_QUEUE) instead of letting it time out there', async () => {
    const queue = `reclaim-sticky-${Math.random().toString(36).slice(2, 8)}`;
    const victim = await h.spawnWorker(queue);
    const handle = await h.env.client.workflow.start('agentRun', {
      taskQueue: queue,
      workflowId: `reclaim-sticky-${Date.now()}`,
      args: [{ options: { task: '[sim:ask-human]', workspace: h.dir, model: 'sim' } }],
    });
    let escalation = await handle.query(escalationQuery);
    for (; !escalation; escalation = await handle.query(escalationQuery)) await sleep(50);
    const exited = new Promise((resolve) => victim.once('exit', resolve));
    victim.kill('SIGKILL');
    await exited;
    // The answer's workflow task is scheduled on the dead worker's sticky queue.
    await handle.signal(humanResponseSignal, { escalationId: escalation.id, decision: 'reply', message: 'go on' });
    const successor = await h.spawnWorker(queue);
    try {
      expect((await handle.result()).report).toBe('human answered: A person replied: go on');
      const events = (await handle.fetchHistory()).events ?? [];
      const failed = events.map((e) => e.workflowTaskFailedEventAttributes).find(Boolean);
      expect(failed?.cause).toBe(13); // WORKFLOW_TASK_FAILED_CAUSE_RESET_STICKY_TASK_QUEUE
      expect(failed?.failure?.message).toMatch(new RegExp(`^the worker of sticky queue ${victim.pid}@\\S+ \\w+-\\w+ is gone \\(task returned by \\d+@`));
      expect(events.some((e) => e.workflowTaskTimedOutEventAttributes)).toBe(false);
    } finally {
      successor.kill('SIGTERM');
      await new Promise((resolve) => successor.once('exit', resolve));
    }
  }, 120_000);
});
