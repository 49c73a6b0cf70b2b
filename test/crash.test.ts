import { Client, Connection, type WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../simulator/server.js';
import { auditGroundTruth, auditReport } from '../simulator/scenarios/audit.js';
import type { AgentRunWorkflow } from '../common/messages.js';
import { progressQuery, type Progress } from '../common/messages.js';
import { effects, startAudit, startAuditOn } from './helpers/audit-run.js';
import { startDevServer, type DevServer } from './helpers/dev-server.js';
import { useHarness } from './helpers/harness.js';
import { TEST_WORKER_ENV } from './helpers/test-worker.js';
import { holdAfter } from './helpers/gate.js';
import { startPostgres, type TestPostgres } from './helpers/postgres.js';
import { mulberry32 } from '../simulator/seeded-random.js';

/**
 * Crash tests: the worker, the Temporal server and the transcript store each die (or go away) in
 * the middle of a long audit, and the run still ends with the correct report and every side effect
 * performed exactly once. Nothing here asserts on timings; durations are printed for the record.
 */

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const log = (line: string) => console.log(`[crash] ${line}`);

/** `count` distinct numbers in [lo, hi], ascending. */
function draw(random: () => number, count: number, lo: number, hi: number): number[] {
  const turns = new Set<number>();
  while (turns.size < count) turns.add(lo + Math.floor(random() * (hi - lo + 1)));
  return [...turns].sort((a, b) => a - b);
}

/** The side effects the audit performs: a progress note every 50 files, and the report. */
const expectedWrites = (n: number) => Math.floor(n / 50) + 1;

type AuditHandle = WorkflowHandleWithFirstExecutionRunId<AgentRunWorkflow>;

function progressOf(client: Client, handle: AuditHandle): Promise<Progress | undefined> {
  // Short: a query sent to a killed worker's sticky queue waits out its deadline, while the run goes on.
  return client.connection.withDeadline(Date.now() + 2_000, () => handle.query(progressQuery)).catch(() => undefined);
}

/** Polls progress until the run reaches `turn` (or closes); fails if it waits on a person or the deadline passes. */
async function waitForTurn(client: Client, handle: AuditHandle, turn: number, timeoutMs = 240_000): Promise<Progress> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const progress = await progressOf(client, handle);
    if (progress) {
      if (progress.status === 'awaiting_human' || progress.status === 'failed' || progress.status === 'stopped') {
        throw new Error(
          `run ${handle.workflowId} is ${progress.status} at turn ${progress.counters.turn}: ${progress.reason ?? ''}`,
        );
      }
      if (progress.counters.turn >= turn || progress.status === 'completed') return progress;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `run ${handle.workflowId} did not reach turn ${turn} within ${timeoutMs} ms (last seen: turn ${progress?.counters.turn ?? '?'})`,
      );
    }
    await sleep(100);
  }
}

/** Activity attempts that failed and were retried, over the run's continue-as-new chain, by activity type. */
async function retriedAttempts(client: Client, handle: AuditHandle): Promise<Record<string, number>> {
  const retried: Record<string, number> = {};
  for (let runId: string | undefined = handle.firstExecutionRunId; runId;) {
    const history: Awaited<ReturnType<AuditHandle['fetchHistory']>> = await client.workflow
      .getHandle(handle.workflowId, runId)
      .fetchHistory();
    const events = history.events ?? [];
    const types = new Map<string, string>();
    for (const event of events) {
      const scheduled = event.activityTaskScheduledEventAttributes;
      if (scheduled) types.set(String(event.eventId), scheduled.activityType?.name ?? '?');
      const started = event.activityTaskStartedEventAttributes;
      if (started && (started.attempt ?? 1) > 1) {
        const type = types.get(String(started.scheduledEventId)) ?? '?';
        retried[type] = (retried[type] ?? 0) + (started.attempt ?? 1) - 1;
      }
      // Local activities (side-effect-free tools) retry inside the worker; only their marker holds the attempt.
      const marker = event.markerRecordedEventAttributes;
      const data = marker?.markerName === 'core_local_activity' ? marker.details?.data?.payloads?.[0]?.data : undefined;
      if (data) {
        const { attempt, activity_type: type } = JSON.parse(Buffer.from(data).toString('utf8')) as {
          attempt: number;
          activity_type: string;
        };
        if (attempt > 1) retried[`local ${type}`] = (retried[`local ${type}`] ?? 0) + attempt - 1;
      }
    }
    runId = events.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
  }
  return retried;
}

interface ChildWorker {
  proc: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

/** `longhaul worker` as a child process, as harness.spawnWorker starts it, but keeping its output and exit. */
function spawnWorkerProcess(env: Record<string, string>): Promise<ChildWorker> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [join(repoRoot, 'bin/longhaul.mjs'), 'worker'], {
      cwd: repoRoot,
      env: { ...process.env, ANTHROPIC_API_KEY: '', ...TEST_WORKER_ENV, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
    const worker: ChildWorker = { proc, output: () => output, exited };
    const onData = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-50_000);
      if (output.includes('longhaul worker polling')) resolve(worker);
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    void exited.then((code) => reject(new Error(`worker exited with ${code} before polling:\n${output}`)));
  });
}

async function stopWorker(worker: ChildWorker | ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  const proc = 'proc' in worker ? worker.proc : worker;
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill(signal);
  await exited;
}

const h = useHarness();

describe('crashes in the middle of a long run', () => {
  it('a 300-turn audit survives 10 SIGKILLs of its worker at seeded random turns: same report, no side effect twice', async () => {
    const N = 300;
    const expected = auditReport(N, auditGroundTruth(N));

    let started = Date.now();
    const worker = await h.startWorker();
    const plain = await startAudit(h, 'uninterrupted', N);
    const reference = await worker.runUntil(plain.handle.result());
    log(
      `uninterrupted ${N}-file audit: ${reference.counters.turn} turns in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
    expect(reference.status).toBe('completed');
    expect(reference.report).toBe(expected);

    const seed = Number(process.env.LONGHAUL_CRASH_SEED ?? 0x1f2e3d4c);
    const random = mulberry32(seed);
    // Targets counted in model requests (one a turn, and the retries), in the first half of the run.
    const killAt = draw(random, 10, 5, N / 2);
    log(`seed ${seed} (0x${seed.toString(16)}): SIGKILL at model requests ${killAt.join(', ')}`);

    started = Date.now();
    const { handle, workspace } = await startAudit(h, 'killed', N);
    for (const [i, target] of killAt.entries()) {
      // The request after the target is held: the run cannot be further on, or finished, when the kill comes.
      const gate = holdAfter(h.simulator, target - (killAt[i - 1] ?? 0));
      const child = await h.spawnWorker();
      await gate.passed();
      // Somewhere inside the turn: in the model call, a tool call, between them, or held in the next call.
      await sleep(Math.floor(random() * 400));
      child.kill('SIGKILL');
      await new Promise((r) =>
        child.exitCode !== null || child.signalCode !== null ? r(undefined) : child.once('exit', r),
      );
      gate.open();
      expect((await handle.describe()).status.name).toBe('RUNNING');
      log(`killed the worker at model request ${target}, ${((Date.now() - started) / 1000).toFixed(1)} s in`);
    }
    const last = await h.spawnWorker();
    const result = await handle.result();
    await stopWorker(last);
    log(
      `killed run: ${result.counters.turn} turns in ${((Date.now() - started) / 1000).toFixed(1)} s with ${killAt.length} kills; retried attempts ${JSON.stringify(await retriedAttempts(h.env.client, handle))}`,
    );

    expect(result.status).toBe('completed');
    expect(result.report).toBe(expected);
    expect(result.report).toBe(reference.report);
    expect(await readFile(join(workspace, 'report.md'), 'utf8')).toBe(expected);
    const journal = await effects(h);
    const keys = journal.map((line) => line.split(' ')[0]!);
    // No key twice in the whole journal (both runs), and exactly the audit's writes for the killed run.
    expect(keys.filter((key, i) => keys.indexOf(key) !== i)).toEqual([]);
    const writes = journal.filter((line) => line.startsWith(`${handle.workflowId}/`));
    // The journal line follows the write: a kill between the two leaves a write without its line,
    // and the retry finds the write done (writeFileTookEffect) and acts no more. Seen once with both
    // cores busy (6 lines of 7, the report right). So: never more lines than writes (no write
    // twice), at most one missing per kill, and the report file is the last write's.
    log(`journal: ${writes.length} of ${expectedWrites(N)} writes`);
    expect(writes.length).toBeLessThanOrEqual(expectedWrites(N));
    expect(writes.length).toBeGreaterThanOrEqual(expectedWrites(N) - killAt.length);
    expect(writes.every((line) => line.endsWith(' write_file'))).toBe(true);
  }, 900_000);

  describe('the Temporal server SIGKILLed and restarted on the same SQLite file', () => {
    const N = 120;
    let dir: string;
    let server: DevServer | undefined;
    let sim: Simulator | undefined;
    let connection: Connection | undefined;
    const workers: ChildWorker[] = [];

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'longhaul-crash-server-'));
      [server, sim] = await Promise.all([startDevServer({ dbFilename: join(dir, 'temporal.db') }), startSimulator()]);
      connection = await Connection.connect({ address: server.address });
    });
    afterAll(async () => {
      for (const w of workers) await stopWorker(w, 'SIGKILL');
      await connection?.close().catch(() => {});
      await server?.kill('SIGKILL');
      await sim?.close();
      await rm(dir, { recursive: true, force: true });
    });

    it('completes a 120-file audit with the correct report; the worker rides out the outage', async () => {
      const client = new Client({ connection: connection! });
      const taskQueue = `crash-server-${Math.random().toString(36).slice(2, 8)}`;
      const storeDir = join(dir, 'store');
      const workerEnv = {
        TEMPORAL_ADDRESS: server!.address,
        LONGHAUL_TASK_QUEUE: taskQueue,
        LONGHAUL_STORE_DIR: storeDir,
        ANTHROPIC_BASE_URL: sim!.url,
      };
      const worker = await spawnWorkerProcess(workerEnv);
      workers.push(worker);
      const started = Date.now();
      // The 40th model call is held, so the run is in the middle of it (not finished) when the server dies.
      const gate = holdAfter(sim!, 39);
      const { handle } = await startAuditOn({ client, taskQueue, dir }, 'server-kill', N);

      await gate.holding();
      const before = await handle.query(progressQuery);
      expect(before.status).toBe('running');
      await server!.kill('SIGKILL');
      log(`killed the dev server at turn ${before.counters.turn}`);
      // The held call's reply comes while the server is down: the worker reports it once it is back.
      gate.open();
      await sleep(2_000);
      await server!.start();
      log(`dev server restarted on ${server!.dbFilename} after ${((Date.now() - started) / 1000).toFixed(1)} s of run`);

      // The worker has to find the server again by itself: it is not restarted.
      const after = await waitForTurn(client, handle, before.counters.turn + 5, 180_000).catch(async (err: Error) => {
        const alive = worker.proc.exitCode === null && worker.proc.signalCode === null;
        throw new Error(
          `${err.message}\nworker ${alive ? 'still running' : `exited (${worker.proc.exitCode ?? worker.proc.signalCode})`}; its output:\n${worker.output()}`,
        );
      });
      log(`after the restart the run went on to turn ${after.counters.turn}`);
      const result = await handle.result();
      log(
        `server-kill run: ${result.counters.turn} turns in ${((Date.now() - started) / 1000).toFixed(1)} s; retried attempts ${JSON.stringify(await retriedAttempts(client, handle))}`,
      );

      expect(worker.proc.exitCode).toBeNull();
      expect(result.status).toBe('completed');
      expect(result.report).toBe(auditReport(N, auditGroundTruth(N)));
      const journal = (await readFile(join(storeDir, 'effects.log'), 'utf8')).split('\n').filter(Boolean);
      const keys = journal.map((line) => line.split(' ')[0]!);
      expect(new Set(keys).size).toBe(keys.length);
      expect(journal.filter((line) => line.startsWith(`${handle.workflowId}/`))).toHaveLength(expectedWrites(N));
      await stopWorker(worker);
    }, 600_000);
  });

  describe('the PostgreSQL transcript store stopped for a while', () => {
    const N = 80;
    let db: TestPostgres | undefined;

    beforeAll(async () => {
      db = await startPostgres();
    });
    afterAll(() => db?.destroy());

    it('completes an 80-file audit with the correct report once the store is back', async () => {
      const taskQueue = `crash-pg-${Math.random().toString(36).slice(2, 8)}`;
      const worker = await spawnWorkerProcess({
        TEMPORAL_ADDRESS: h.env.address,
        LONGHAUL_TASK_QUEUE: taskQueue,
        LONGHAUL_STORE_DIR: join(h.dir, 'unused-store'),
        LONGHAUL_STORE_URL: db!.url,
        ANTHROPIC_BASE_URL: h.simulator.url,
      });
      try {
        const started = Date.now();
        // The 20th model call is held: its reads are done, and its reply is stored after the database stops.
        const gate = holdAfter(h.simulator, 19);
        const { handle } = await startAuditOn({ client: h.env.client, taskQueue, dir: h.dir }, 'pg-outage', N);
        await gate.holding();
        await db!.stop();
        log('stopped PostgreSQL in the 20th model call');
        gate.open();
        // Started again once the outage has reached the run: an attempt failed and waits for its retry.
        while (!(await handle.describe()).raw.pendingActivities?.some((a) => (a.attempt ?? 1) > 1)) await sleep(100);
        await db!.start();
        log(`PostgreSQL started again after ${((Date.now() - started) / 1000).toFixed(1)} s of run`);

        const result = await Promise.race([
          handle.result(),
          worker.exited.then((code) => {
            throw new Error(`the worker exited (${code}) during the store outage:\n${worker.output()}`);
          }),
        ]);
        const retried = await retriedAttempts(h.env.client, handle);
        log(
          `pg-outage run: ${result.counters.turn} turns in ${((Date.now() - started) / 1000).toFixed(1)} s; retried attempts ${JSON.stringify(retried)}`,
        );
        // The outage reached the run: some activity failed against the stopped store and was retried.
        expect(Object.values(retried).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
        expect(result.status).toBe('completed');
        expect(result.report).toBe(auditReport(N, auditGroundTruth(N)));

        const client = new pg.Client({ connectionString: db!.url });
        await client.connect();
        const { rows } = await client.query<{ line: string }>('SELECT line FROM longhaul_effects WHERE line LIKE $1', [
          `${handle.workflowId}/%`,
        ]);
        await client.end();
        const keys = rows.map((r) => r.line.split(' ')[0]!);
        expect(new Set(keys).size).toBe(keys.length);
        expect(rows).toHaveLength(expectedWrites(N));
        expect(worker.proc.exitCode).toBeNull();
      } finally {
        await stopWorker(worker);
      }
    }, 600_000);
  });
});
