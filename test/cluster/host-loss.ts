/**
 * A long audit on a real Temporal cluster (test/helpers/cluster.ts: 2 history, 2 matching, a
 * frontend and the worker service, on PostgreSQL) with its workers on 3 hosts
 * (test/helpers/hosts.ts), while whole hosts are lost and services restarted under it. Runs as
 * root inside a network namespace of its own: `unshare --net --fork node --import tsx
 * test/cluster/host-loss.ts [--files N] [--host-kills K] [--after-reply-kills K] [--heartbeat-timeout-ms MS] [--workflow-task-timeout-ms MS]`; test/cluster.test.ts and
 * bench/cluster.ts start it so. Prints progress on stderr and, last on stdout, one line of JSON
 * (HostLossOutcome) that says what happened; it asserts nothing itself.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { progressQuery } from '../../common/messages.js';
import { auditGroundTruth, auditReport } from '../../simulator/scenarios/audit.js';
import { startAuditOn } from '../helpers/audit-run.js';
import { chainHistories, printOutcome, scenarioArg, startSite } from './site.js';

export interface Disruption {
  what: string;
  /** The host whose worker ran the run's model call when it was killed. */
  host?: string;
  turn: number;
  /** From the kill to the run's next completed model call (its ActivityTaskCompleted event). */
  recoveryMs: number | null;
  /** The task that timed out in between, reclaiming the dead worker's work (a workflow task, an activity). */
  timedOut?: string;
}

export interface HostLossOutcome {
  files: number;
  status: string;
  reportCorrect: boolean;
  turns: number;
  /** The hosts (hostnames) whose workers completed the run's model calls, in order of first use. */
  hostsUsed: string[];
  writes: number;
  expectedWrites: number;
  duplicateWrites: string[];
  disruptions: Disruption[];
  wallMs: number;
  clusterStartMs: number;
  heartbeatTimeoutMs: number;
  workflowTaskTimeoutMs: number;
}

const FILES = scenarioArg('files', 120);
const HOST_KILLS = scenarioArg('host-kills', 3);
const AFTER_REPLY_KILLS = scenarioArg('after-reply-kills', 2);
const HEARTBEAT_TIMEOUT_MS = scenarioArg('heartbeat-timeout-ms', 2_000);
const WORKFLOW_TASK_TIMEOUT_MS = scenarioArg('workflow-task-timeout-ms', 2_000);
const log = (line: string) => process.stderr.write(`[host-loss] ${line}\n`);

/** The host of a worker identity (worker/reclaim.ts: `pid@host uuid …`). */
const hostOf = (identity: string | null | undefined) => /@(\S+)/.exec(identity ?? '')?.[1] ?? '';

const toMs = (t: { seconds?: unknown; nanos?: number | null } | null | undefined) =>
  Number(t?.seconds ?? 0) * 1000 + Math.floor((t?.nanos ?? 0) / 1e6);

async function main(): Promise<HostLossOutcome> {
  const site = await startSite({ latencyMs: 200, log });
  const { sim, db, client, connection, dir, clusterStartMs } = site;
  const cluster = site.cluster;
  try {
    const taskQueue = 'host-loss';
    const workerEnv = site.workerEnv(taskQueue);
    const hosts = await site.startHosts(['host-a', 'host-b', 'host-c'], taskQueue);

    const began = Date.now();
    const { handle } = await startAuditOn({ client, taskQueue, dir }, 'host-loss', FILES, {
      heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS,
      workflowTaskTimeoutMs: WORKFLOW_TASK_TIMEOUT_MS,
    });
    const progress = () =>
      connection.withDeadline(Date.now() + 2_000, () => handle.query(progressQuery)).catch(() => undefined);
    const turnNow = async () => (await progress())?.counters.turn ?? -1;
    const waitForTurn = async (turn: number) => {
      while ((await turnNow()) < turn) await sleep(100);
    };
    /** The host whose worker runs the model call in flight, once one is in flight. */
    const modelCallHost = async (): Promise<string> => {
      for (;;) {
        const d = await handle.describe().catch(() => undefined);
        const call = d?.raw.pendingActivities?.find(
          (a) => a.activityType?.name === 'callModel' && a.lastWorkerIdentity,
        );
        const host = hostOf(call?.lastWorkerIdentity);
        if (host && (call?.attempt ?? 1) === 1) return host;
        await sleep(20);
      }
    };

    const kills: { what: string; host?: string; turn: number; at: number }[] = [];
    const step = Math.max(5, Math.floor(FILES / (HOST_KILLS + AFTER_REPLY_KILLS + 6)));
    let target = step;
    const loseHost = async (afterReply: boolean) => {
      await waitForTurn(target);
      target += step;
      const name = await modelCallHost();
      const host = hosts.find((h) => h.name === name)!;
      if (afterReply) {
        // The reply's workflow task goes to the same worker (its sticky queue): kill it there.
        const answered = sim.stats().messages;
        while (sim.stats().messages === answered) await sleep(2);
        await sleep(5);
      }
      const turn = await turnNow();
      const at = await host.kill();
      const what = afterReply ? 'host lost just after a model reply' : 'host lost in a model call';
      kills.push({ what, host: name, turn, at });
      log(`killed ${name} (${what}) at turn ${turn}`);
      // The host comes back later (a replacement machine), so that three stay for the next kill.
      await waitForTurn(turn + 2);
      await host.startWorker(workerEnv);
    };
    for (let k = 0; k < HOST_KILLS; k++) await loseHost(false);
    for (let k = 0; k < AFTER_REPLY_KILLS; k++) await loseHost(true);
    // Each instance in turn: one of them owns the run's shard, or its task queue's partition.
    for (const name of ['history-1', 'history-2', 'matching-1', 'matching-2']) {
      await waitForTurn(target);
      target += step;
      const service = cluster.service(name);
      const turn = await turnNow();
      const at = Date.now();
      await service.kill();
      log(`killed ${name} at turn ${turn}`);
      await sleep(1_000);
      await service.start();
      kills.push({ what: `${name} SIGKILLed, started 1 s later`, turn, at });
    }
    await waitForTurn(target);
    const turn = await turnNow();
    const at = Date.now();
    await db.stop();
    log(`stopped PostgreSQL at turn ${turn}`);
    await sleep(1_000);
    await db.start();
    kills.push({ what: 'PostgreSQL stopped (fast), started 1 s later', turn, at });

    const result = await handle.result();
    const wallMs = Date.now() - began;
    log(`run ${result.status} at turn ${result.counters.turn} in ${(wallMs / 1000).toFixed(1)} s`);

    // Every completed model call of the chain: when, and on which host.
    const completions: { at: number; host: string; attempt: number }[] = [];
    /** The timeouts that reclaimed a dead worker's task: when, and which. */
    const timeouts: { at: number; kind: string }[] = [];
    for await (const events of chainHistories(client, handle)) {
      const scheduled = new Map<string, string>();
      const started = new Map<string, string>();
      for (const e of events) {
        const s = e.activityTaskScheduledEventAttributes;
        if (s) scheduled.set(String(e.eventId), s.activityType?.name ?? '');
        const st = e.activityTaskStartedEventAttributes;
        if (st) started.set(String(e.eventId), `${st.attempt ?? 1} ${st.identity ?? ''}`);
        if (e.workflowTaskTimedOutEventAttributes) timeouts.push({ at: toMs(e.eventTime), kind: 'workflow task' });
        if (e.activityTaskTimedOutEventAttributes) {
          timeouts.push({
            at: toMs(e.eventTime),
            kind: `${scheduled.get(String(e.activityTaskTimedOutEventAttributes.scheduledEventId))} activity`,
          });
        }
        const c = e.activityTaskCompletedEventAttributes;
        if (c && scheduled.get(String(c.scheduledEventId)) === 'callModel') {
          completions.push({
            at: toMs(e.eventTime),
            host: hostOf(started.get(String(c.startedEventId))),
            attempt: Number(started.get(String(c.startedEventId))?.split(' ')[0] ?? 1),
          });
        }
      }
    }
    const disruptions = kills.map(({ at, ...k }) => {
      const next = completions.find((c) => c.at > at);
      // An activity retried after a timeout leaves no event of it: its next attempt says so.
      const reclaimed =
        timeouts.find((t) => t.at > at && (!next || t.at < next.at))?.kind ??
        (next && next.attempt > 1 ? 'model call (heartbeat)' : undefined);
      return { ...k, recoveryMs: next ? next.at - at : null, ...(reclaimed ? { timedOut: reclaimed } : {}) };
    });

    const store = new pg.Client({ connectionString: db.url });
    await store.connect();
    const { rows } = await store.query<{ line: string }>('SELECT line FROM longhaul_effects WHERE line LIKE $1', [
      `${handle.workflowId}/%`,
    ]);
    await store.end();
    const keys = rows.map((r) => r.line.split(' ')[0]!);
    return {
      files: FILES,
      status: result.status,
      reportCorrect: result.report === auditReport(FILES, auditGroundTruth(FILES)),
      turns: result.counters.turn,
      hostsUsed: [...new Set(completions.map((c) => c.host))],
      writes: rows.length,
      expectedWrites: Math.floor(FILES / 50) + 1,
      duplicateWrites: keys.filter((key, i) => keys.indexOf(key) !== i),
      disruptions,
      wallMs,
      clusterStartMs,
      heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS,
      workflowTaskTimeoutMs: WORKFLOW_TASK_TIMEOUT_MS,
    };
  } finally {
    await site.close();
  }
}

await printOutcome(main);
