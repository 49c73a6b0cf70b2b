import { Client, Connection, type WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimulator, type Simulator } from '../../simulator/server.js';
import { startCluster, type Cluster } from '../helpers/cluster.js';
import { makeBridge, makeHost, SERVICES_ADDRESS, SUBNET, type Host } from '../helpers/hosts.js';
import { startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { TEST_WORKER_ENV } from '../helpers/test-worker.js';

/**
 * What the cluster scenarios run on, inside the network namespace they were started in: the
 * bridge, PostgreSQL (Temporal's persistence and visibility, and the transcript store), the
 * simulator and the Temporal cluster on the bridge's address, and worker hosts on the bridge.
 */
export interface Site {
  dir: string;
  db: TestPostgres;
  sim: Simulator;
  cluster: Cluster;
  clusterStartMs: number;
  connection: Connection;
  client: Client;
  /** The environment of `longhaul worker` on a host, polling `taskQueue`. */
  workerEnv(taskQueue: string): Record<string, string>;
  /** Makes hosts `names` (numbered from 1 on the bridge), one worker each polling `taskQueue`. */
  startHosts(names: string[], taskQueue: string): Promise<Host[]>;
  close(): Promise<void>;
}

export async function startSite(opts: { latencyMs: number; log: (line: string) => void }): Promise<Site> {
  makeBridge();
  const dir = await mkdtemp(join(tmpdir(), 'longhaul-cluster-'));
  const db = await startPostgres({ listen: SERVICES_ADDRESS, allow: SUBNET });
  const sim = await startSimulator({ host: SERVICES_ADDRESS, latencyMs: opts.latencyMs });
  const began = Date.now();
  const cluster = await startCluster({
    dir: join(dir, 'temporal'),
    host: SERVICES_ADDRESS,
    postgres: { host: SERVICES_ADDRESS, port: Number(new URL(db.url).port), user: 'postgres' },
  });
  const clusterStartMs = Date.now() - began;
  opts.log(`cluster up in ${clusterStartMs} ms: ${cluster.services.map((s) => s.name).join(', ')}`);
  const connection = await Connection.connect({ address: cluster.address });
  const hosts: Host[] = [];
  const workerEnv = (taskQueue: string) => ({
    ...TEST_WORKER_ENV,
    TEMPORAL_ADDRESS: cluster.address,
    LONGHAUL_TASK_QUEUE: taskQueue,
    LONGHAUL_STORE_URL: db.url,
    LONGHAUL_STORE_DIR: join(dir, 'unused-store'),
    ANTHROPIC_BASE_URL: sim.url,
    ANTHROPIC_API_KEY: '',
  });
  return {
    dir,
    db,
    sim,
    cluster,
    clusterStartMs,
    connection,
    client: new Client({ connection }),
    workerEnv,
    async startHosts(names, taskQueue) {
      const made = names.map((name) => makeHost(name, hosts.length + names.indexOf(name) + 1));
      hosts.push(...made);
      for (const host of made) await host.startWorker(workerEnv(taskQueue));
      opts.log(`workers polling on ${made.map((h) => `${h.name} (${h.address})`).join(', ')}`);
      return made;
    },
    async close() {
      for (const h of hosts) h.remove();
      await connection.close().catch(() => {});
      await cluster.stop();
      await sim.close();
      await db.destroy();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A scenario's numeric argument `--name N`, or the fallback. */
export function scenarioArg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

/** Runs a scenario and prints its outcome as the last line of stdout, for test/cluster/run-scenario.ts. */
export async function printOutcome<T>(main: () => Promise<T>): Promise<void> {
  process.stdout.write(`${JSON.stringify(await main())}\n`);
  process.exit(0);
}

type RunHandle = WorkflowHandleWithFirstExecutionRunId;
type HistoryEvents = NonNullable<Awaited<ReturnType<RunHandle['fetchHistory']>>['events']>;

/** The events of each run of a workflow's continue-as-new chain, from the first, run by run. */
export async function* chainHistories(client: Client, handle: RunHandle): AsyncGenerator<HistoryEvents> {
  for (let runId: string | undefined = handle.firstExecutionRunId; runId;) {
    const history = await client.workflow.getHandle(handle.workflowId, runId).fetchHistory();
    const events: HistoryEvents = history.events ?? [];
    yield events;
    runId = events.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
  }
}
