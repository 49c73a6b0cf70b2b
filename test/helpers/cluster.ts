import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Connection } from '@temporalio/client';
import { ensureTemporalServer } from '../../scripts/temporal-server.mjs';
import { ensureTemporalCli } from '../../scripts/temporal-cli.mjs';

/**
 * A real self-hosted Temporal cluster: the Temporal server (scripts/temporal-server.mjs) on a
 * PostgreSQL server, its schemas set up with temporal-sql-tool, and its services as separate
 * processes: a frontend, `history` and `matching` of each at least two, and the worker service.
 * Every process binds one address (loopback, or one in a network namespace the caller made), with
 * deploy/temporal-dynamic-config.yaml, the dynamic config the compose file ships.
 */

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
export const DYNAMIC_CONFIG = join(repoRoot, 'deploy/temporal-dynamic-config.yaml');

export type ServiceKind = 'frontend' | 'history' | 'matching' | 'worker';

export interface ClusterOptions {
  /** Where configs and logs go. */
  dir: string;
  /** The address every service binds and announces. */
  host: string;
  /** PostgreSQL: its address and port, and a user with trust auth. */
  postgres: { host: string; port: number; user: string };
  histories?: number;
  matchings?: number;
  /** Extra dynamic config values, written after the shipped file's. */
  dynamicConfig?: Record<string, unknown>;
}

export interface Service {
  name: string;
  kind: ServiceKind;
  /** SIGKILLs the process (no-op if it is not running). */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again with the same config, once it announced itself. */
  start(): Promise<void>;
  running(): boolean;
}

export interface Cluster {
  /** The frontend's gRPC address. */
  address: string;
  services: Service[];
  service(name: string): Service;
  stop(): Promise<void>;
}

/** Each service's first instance's ports; the n-th instance of a kind adds 100 × n. */
const BASE_PORTS: Record<ServiceKind, { grpc: number; membership: number; http?: number }> = {
  frontend: { grpc: 7233, membership: 6933, http: 7243 },
  history: { grpc: 7234, membership: 6934 },
  matching: { grpc: 7235, membership: 6935 },
  worker: { grpc: 7239, membership: 6939 },
};

const portsOf = (kind: ServiceKind, n: number) => {
  const base = BASE_PORTS[kind];
  return { grpc: base.grpc + 100 * n, membership: base.membership + 100 * n, http: base.http };
};

/** A process's config: every service's first ports, its own service's at its instance's. */
function serverConfig(opts: ClusterOptions, own: ServiceKind, n: number, dynamicConfigFile: string): string {
  const { host, postgres } = opts;
  const store = (db: string, conns: number) => `
      sql:
        pluginName: postgres12
        databaseName: ${db}
        connectAddr: "${postgres.host}:${postgres.port}"
        connectProtocol: tcp
        user: ${postgres.user}
        password: ""
        maxConns: ${conns}
        maxIdleConns: ${conns}
        maxConnLifetime: 1h`;
  const service = (kind: ServiceKind) => {
    const p = portsOf(kind, kind === own ? n : 0);
    return `
  ${kind}:
    rpc:
      grpcPort: ${p.grpc}
      membershipPort: ${p.membership}
      bindOnIP: "${host}"${p.http ? `\n      httpPort: ${p.http}` : ''}`;
  };
  return `log:
  stdout: true
  level: warn
persistence:
  defaultStore: default
  visibilityStore: visibility
  numHistoryShards: 8
  datastores:
    default:${store('temporal', 20)}
    visibility:${store('temporal_visibility', 4)}
global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: "${host}"
services:${(['frontend', 'history', 'matching', 'worker'] as const).map(service).join('')}
clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: active
  currentClusterName: active
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: frontend
      rpcAddress: "${host}:${BASE_PORTS.frontend.grpc}"
dcRedirectionPolicy:
  policy: noop
publicClient:
  hostPort: "${host}:${BASE_PORTS.frontend.grpc}"
dynamicConfigClient:
  filepath: "${dynamicConfigFile}"
  pollInterval: 10s
`;
}

function run(binary: string, args: string[]): void {
  const r = spawnSync(binary, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${binary} ${args.join(' ')} exited with ${r.status}:\n${r.stdout}${r.stderr}`);
}

/** Temporal's two databases at this version's schema (deploy/temporal-setup.sh does the same in compose). */
export function setupSchemas(serverDir: string, postgres: ClusterOptions['postgres']): void {
  const tool = join(serverDir, 'temporal-sql-tool');
  const common = ['--plugin', 'postgres12', '--ep', postgres.host, '-p', String(postgres.port), '-u', postgres.user];
  for (const [db, schema] of [
    ['temporal', 'temporal'],
    ['temporal_visibility', 'visibility'],
  ] as const) {
    run(tool, [...common, '--db', db, 'create']);
    run(tool, [...common, '--db', db, 'setup-schema', '-v', '0.0']);
    run(tool, [...common, '--db', db, 'update-schema', '-d', join(serverDir, 'schema', schema, 'versioned')]);
  }
}

/** Waits until the frontend answers and the namespace exists (creating it with the Temporal CLI). */
async function waitForFrontend(address: string, namespace: string, deadlineMs: number): Promise<void> {
  const cli = ensureTemporalCli();
  const until = Date.now() + deadlineMs;
  for (;;) {
    const health = spawnSync(cli, ['operator', 'cluster', 'health', '--address', address], { encoding: 'utf8' });
    if (health.status === 0) break;
    if (Date.now() > until) throw new Error(`the frontend at ${address} did not answer: ${health.stderr}`);
    await sleep(250);
  }
  const described = spawnSync(cli, ['operator', 'namespace', 'describe', '--address', address, '-n', namespace]);
  if (described.status !== 0) {
    run(cli, ['operator', 'namespace', 'create', '--address', address, '-n', namespace, '--retention', '24h']);
  }
  // A new namespace reaches every frontend's and history's cache within seconds: wait until it serves.
  const connection = await Connection.connect({ address });
  try {
    for (;;) {
      try {
        await connection.workflowService.listWorkflowExecutions({ namespace, pageSize: 1 });
        return;
      } catch (err) {
        if (Date.now() > until) throw err;
        await sleep(250);
      }
    }
  } finally {
    await connection.close();
  }
}

export async function startCluster(opts: ClusterOptions): Promise<Cluster> {
  const serverDir = ensureTemporalServer();
  await mkdir(opts.dir, { recursive: true });
  setupSchemas(serverDir, opts.postgres);
  const shipped = await readFile(DYNAMIC_CONFIG, 'utf8');
  const extra = Object.entries(opts.dynamicConfig ?? {})
    .map(([key, value]) => `${key}:\n  - value: ${JSON.stringify(value)}\n`)
    .join('');
  const dynamicConfigFile = join(opts.dir, 'dynamic-config.yaml');
  await writeFile(dynamicConfigFile, `${shipped}\n${extra}`);

  const plan: { kind: ServiceKind; n: number }[] = [
    { kind: 'history', n: 0 },
    ...Array.from({ length: (opts.histories ?? 2) - 1 }, (_, i) => ({ kind: 'history' as const, n: i + 1 })),
    { kind: 'matching', n: 0 },
    ...Array.from({ length: (opts.matchings ?? 2) - 1 }, (_, i) => ({ kind: 'matching' as const, n: i + 1 })),
    { kind: 'frontend', n: 0 },
    { kind: 'worker', n: 0 },
  ];
  const services: Service[] = [];
  for (const { kind, n } of plan) {
    const name = `${kind}-${n + 1}`;
    const config = join(opts.dir, `${name}.yaml`);
    await writeFile(config, serverConfig(opts, kind, n, dynamicConfigFile));
    let proc: ChildProcess | undefined;
    const logFile = join(opts.dir, `${name}.log`);
    const service: Service = {
      name,
      kind,
      running: () => !!proc && proc.exitCode === null && proc.signalCode === null,
      async start() {
        proc = spawn(
          join(serverDir, 'temporal-server'),
          ['--config-file', config, '--allow-no-auth', 'start', '--service', kind],
          { stdio: ['ignore', 'pipe', 'pipe'] },
        );
        const chunks: string[] = [];
        const keep = (d: Buffer) => {
          chunks.push(d.toString());
          void writeFile(logFile, chunks.join('').slice(-200_000)).catch(() => {});
        };
        proc.stdout!.on('data', keep);
        proc.stderr!.on('data', keep);
        const started = proc;
        // Listening on its gRPC port is what the others need of it.
        const { grpc } = portsOf(kind, n);
        const until = Date.now() + 60_000;
        while (!(await listening(opts.host, grpc))) {
          if (started.exitCode !== null)
            throw new Error(`${name} exited with ${started.exitCode}:\n${chunks.join('').slice(-4000)}`);
          if (Date.now() > until) throw new Error(`${name} is not listening on ${opts.host}:${grpc}`);
          await sleep(100);
        }
      },
      async kill(signal = 'SIGKILL') {
        const p = proc;
        if (!p || p.exitCode !== null || p.signalCode !== null) return;
        const exited = new Promise((r) => p.once('exit', r));
        p.kill(signal);
        await exited;
      },
    };
    services.push(service);
    await service.start();
  }
  const address = `${opts.host}:${BASE_PORTS.frontend.grpc}`;
  const stopAll = async () => {
    for (const s of [...services].reverse()) await s.kill('SIGKILL');
  };
  try {
    await waitForFrontend(address, 'default', 120_000);
  } catch (err) {
    await stopAll();
    throw err;
  }
  return {
    address,
    services,
    service: (name) => {
      const s = services.find((x) => x.name === name);
      if (!s) throw new Error(`no service ${name}: there are ${services.map((x) => x.name).join(', ')}`);
      return s;
    },
    stop: stopAll,
  };
}

async function listening(host: string, port: number): Promise<boolean> {
  const { connect } = await import('node:net');
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
