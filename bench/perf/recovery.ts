import proto from '@temporalio/proto';
import type { ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { startAudit } from '../../test/helpers/audit-run.js';
import type { Harness } from '../../test/helpers/harness.js';
import { humanResponseSignal, progressQuery, type Progress } from '../../common/messages.js';
import { eventMs } from '../measure/event-times.js';
import type { HistoryEvent } from '../measure/turns.js';
import type { PerfPlan } from './plan.js';
import { log, MODEL_ACTIVITY, round, type AuditHandle } from './runs.js';

export type KillPoint = 'early' | 'near-continue-as-new';
/** What the killed worker was doing: running the run's model call, or nothing (the run between tasks). */
export type KillDuring = 'model call' | 'between tasks';

export interface TimelineEntry {
  /** Milliseconds after the kill, by the server's event time. */
  atMs: number;
  event: string;
}

export interface RecoveryCase {
  point: KillPoint;
  during: KillDuring;
  /** The turn the run had completed when the worker was killed. */
  turn: number;
  /** Events in the run's history at the kill: what a new worker replays. */
  historyEvents: number;
  /** The model call's last recorded heartbeat, before the kill (model-call case). */
  lastHeartbeatBeforeKillMs?: number;
  /** From spawning the new worker to its "longhaul worker polling" line. */
  workerStartMs: number;
  /** From "polling" to the next completed model call (the target's measure), and to the one after. */
  pollingToNextModelCallMs: number;
  pollingToSecondModelCallMs: number;
  killToNextModelCallMs: number;
  killToSecondModelCallMs: number;
  timeline: TimelineEntry[];
}

const describeEvent = (e: HistoryEvent, names: Map<string, string>): string | null => {
  const name = (id: unknown) => names.get(String(id)) ?? '?';
  if (e.workflowTaskScheduledEventAttributes)
    return `WorkflowTaskScheduled (${e.workflowTaskScheduledEventAttributes.taskQueue?.kind === proto.temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_STICKY ? 'sticky queue' : 'normal queue'})`;
  if (e.workflowTaskStartedEventAttributes) return 'WorkflowTaskStarted';
  if (e.workflowTaskCompletedEventAttributes) return 'WorkflowTaskCompleted';
  if (e.workflowTaskTimedOutEventAttributes)
    return `WorkflowTaskTimedOut (${timeoutName(e.workflowTaskTimedOutEventAttributes.timeoutType)})`;
  if (e.workflowTaskFailedEventAttributes) return 'WorkflowTaskFailed';
  if (e.workflowExecutionSignaledEventAttributes) return 'WorkflowExecutionSignaled';
  const s = e.activityTaskScheduledEventAttributes;
  if (s) return `ActivityTaskScheduled ${s.activityType?.name}`;
  const st = e.activityTaskStartedEventAttributes;
  if (st) {
    const failure = st.lastFailure?.message ? `, last failure: ${st.lastFailure.message}` : '';
    return `ActivityTaskStarted ${name(st.scheduledEventId)} (attempt ${st.attempt ?? 1}${failure})`;
  }
  const c = e.activityTaskCompletedEventAttributes;
  if (c) return `ActivityTaskCompleted ${name(c.scheduledEventId)}`;
  if (e.activityTaskTimedOutEventAttributes)
    return `ActivityTaskTimedOut ${name(e.activityTaskTimedOutEventAttributes.scheduledEventId)}`;
  if (e.workflowExecutionTerminatedEventAttributes) return 'WorkflowExecutionTerminated';
  return null;
};

// temporal.api.enums.v1.TimeoutType
const timeoutName = (t: unknown) =>
  ({ 1: 'START_TO_CLOSE', 2: 'SCHEDULE_TO_START', 3: 'SCHEDULE_TO_CLOSE', 4: 'HEARTBEAT' })[Number(t) as 1] ??
  String(t);

async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs: number,
  everyMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`recovery: timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** Model-call completion times after `afterMs`, the first two. */
async function nextTwoCompletions(
  handle: AuditHandle,
  afterMs: number,
): Promise<{ times: [number, number]; events: HistoryEvent[] }> {
  return waitFor(
    'two model calls after the kill',
    async () => {
      const events: HistoryEvent[] = (await handle.fetchHistory()).events ?? [];
      const models = new Set<string>();
      const times: number[] = [];
      for (const e of events) {
        if (e.activityTaskScheduledEventAttributes?.activityType?.name === MODEL_ACTIVITY)
          models.add(String(e.eventId));
        const c = e.activityTaskCompletedEventAttributes;
        if (c && models.has(String(c.scheduledEventId)) && eventMs(e) > afterMs) times.push(eventMs(e));
      }
      return times.length >= 2 ? { times: [times[0]!, times[1]!] as [number, number], events } : undefined;
    },
    90_000,
    100,
  );
}

/**
 * One kill: the run is brought to `turn` (a turn cap that asks a person), then either its next model
 * call is started and hangs in the simulator (a fault with a long delay) and the worker is killed
 * `killAfterMs` into it, or the worker is killed while the run waits and the answer arrives right
 * after the kill, so a workflow task is due on the dead worker's sticky queue. A new worker is
 * spawned at once. Returns the case and the new worker, which serves as the next case's victim.
 */
async function killOnce(
  h: Harness,
  queue: string,
  victim: ChildProcess,
  point: KillPoint,
  during: KillDuring,
  turn: number,
  plan: PerfPlan,
): Promise<{ result: RecoveryCase; next: ChildProcess }> {
  const { handle } = await startAudit(
    { ...h, taskQueue: queue },
    `recovery-${point}-${during.replace(/ /g, '-')}`,
    plan.recoveryFiles,
    {
      maxTurns: turn,
      compaction: { trigger: plan.trigger },
    },
  );
  const waiting = await waitFor<Progress>(
    `turn ${turn}`,
    async () => {
      const p = await handle.query(progressQuery);
      return p.escalation?.kind === 'turn_cap' ? p : undefined;
    },
    120_000,
    100,
  );
  const answer = { escalationId: waiting.escalation!.id, decision: 'extend' as const, turns: 5 };

  let lastHeartbeatBeforeKillMs: number | undefined;
  if (during === 'model call') {
    const served = h.simulator.stats().faultsServed;
    // Long enough to outlast the kill; short, because the simulator's timer keeps this process alive.
    h.simulator.injectFaults([{ delayMs: plan.killAfterMs + 5_000, match: 'messages' }]);
    await handle.signal(humanResponseSignal, answer);
    await waitFor(
      'the model request to arrive',
      () => (h.simulator.stats().faultsServed > served ? true : undefined),
      30_000,
      2,
    );
    await sleep(plan.killAfterMs);
    const pending = (await handle.describe()).raw.pendingActivities?.[0];
    if (pending?.lastHeartbeatTime)
      lastHeartbeatBeforeKillMs = Date.now() - eventMs({ eventTime: pending.lastHeartbeatTime });
  }
  const historyEvents = (await handle.fetchHistory()).events?.length ?? 0;

  const exited = new Promise((resolve) => victim.once('exit', resolve));
  victim.kill('SIGKILL');
  const killedAt = Date.now();
  await exited;
  if (during === 'between tasks') await handle.signal(humanResponseSignal, answer);
  const spawnedAt = Date.now();
  const next = await h.spawnWorker(queue);
  const pollingAt = Date.now();
  log(
    `recovery: ${point}, killed during ${during} at turn ${turn}; new worker polling after ${pollingAt - spawnedAt} ms`,
  );

  const { times, events } = await nextTwoCompletions(handle, killedAt);
  await handle.terminate('perf benchmark: recovery measured');

  const names = new Map<string, string>();
  const timeline: TimelineEntry[] = [];
  for (const e of events) {
    const s = e.activityTaskScheduledEventAttributes;
    if (s) names.set(String(e.eventId), s.activityType?.name ?? '?');
    const at = eventMs(e) - killedAt;
    const text = at >= -50 && eventMs(e) <= times[1] ? describeEvent(e, names) : null;
    if (text) timeline.push({ atMs: Math.round(at), event: text });
  }
  return {
    next,
    result: {
      point,
      during,
      turn,
      historyEvents,
      ...(lastHeartbeatBeforeKillMs !== undefined ? { lastHeartbeatBeforeKillMs } : {}),
      workerStartMs: pollingAt - spawnedAt,
      pollingToNextModelCallMs: times[0] - pollingAt,
      pollingToSecondModelCallMs: times[1] - pollingAt,
      killToNextModelCallMs: times[0] - killedAt,
      killToSecondModelCallMs: times[1] - killedAt,
      timeline,
    },
  };
}

/**
 * Recovery after SIGKILL of a child-process worker (`longhaul worker`), for each kill point and
 * each kind of moment. The workers poll a task queue of their own, so no in-process worker helps.
 */
export async function measureRecovery(
  h: Harness,
  plan: PerfPlan,
  firstCompactionTurn: number,
): Promise<RecoveryCase[]> {
  const queue = `${h.taskQueue}-recovery`;
  const turnAt: Record<KillPoint, number> = { early: 3, 'near-continue-as-new': firstCompactionTurn - 3 };
  let worker = await h.spawnWorker(queue);
  const cases: RecoveryCase[] = [];
  try {
    for (const point of plan.recoveryPoints) {
      for (const during of ['model call', 'between tasks'] as const) {
        const { result, next } = await killOnce(h, queue, worker, point, during, turnAt[point], plan);
        worker = next;
        cases.push(result);
        log(
          `  next model call ${round(result.pollingToNextModelCallMs / 1000, 2)} s after polling, ${round(result.killToNextModelCallMs / 1000, 2)} s after the kill`,
        );
      }
    }
  } finally {
    worker.kill('SIGKILL');
  }
  return cases;
}
