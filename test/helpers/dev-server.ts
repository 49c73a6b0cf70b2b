import { Connection } from '@temporalio/client';
import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './free-port.js';

/**
 * A Temporal dev server (the CLI's `server start-dev`) on a SQLite file, which, unlike the
 * TestWorkflowEnvironment's, can be killed and started again on the same file and port.
 */
export interface DevServer {
  /** `127.0.0.1:<port>`, the same across restarts. */
  address: string;
  dbFilename: string;
  /** Starts the server (again) on the same file and port; resolves once it answers. */
  start(): Promise<void>;
  /** Sends the signal and resolves once the process is gone. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Whether a server process is running. */
  running(): boolean;
  /** The server's stderr/stdout so far (log level error), for failure messages. */
  output(): string;
}

/** Resolves once the frontend answers and the `default` namespace is described, or throws at the deadline. */
export async function waitForServer(
  address: string,
  timeoutMs = 60_000,
  isAlive: () => boolean = () => true,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (!isAlive()) throw new Error(`dev server at ${address} exited while starting`);
    let connection: Connection | undefined;
    try {
      connection = await Connection.connect({ address, connectTimeout: 2_000 });
      await connection.workflowService.getSystemInfo({});
      await connection.workflowService.describeNamespace({ namespace: 'default' });
      return;
    } catch (err) {
      lastError = err;
    } finally {
      await connection?.close().catch(() => {});
    }
    await sleep(250);
  }
  throw new Error(`dev server at ${address} did not answer within ${timeoutMs} ms: ${String(lastError)}`);
}

export async function startDevServer(opts: { dbFilename: string; cli?: string; port?: number }): Promise<DevServer> {
  const cli = opts.cli ?? process.env.TEMPORAL_CLI;
  if (!cli) throw new Error('TEMPORAL_CLI is not set (the test global setup sets it)');
  const port = opts.port ?? (await freePort());
  const address = `127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  let log = '';

  const start = async () => {
    if (child) throw new Error('dev server already running');
    const proc = spawn(
      cli,
      [
        'server',
        'start-dev',
        '--headless',
        '--ip',
        '127.0.0.1',
        '--port',
        String(port),
        '--db-filename',
        opts.dbFilename,
        '--log-level',
        'error',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child = proc;
    const append = (chunk: Buffer) => {
      log = (log + chunk.toString()).slice(-20_000);
    };
    proc.stdout.on('data', append);
    proc.stderr.on('data', append);
    proc.once('exit', (code, signal) => {
      append(Buffer.from(`\n[dev server exited: code ${code}, signal ${signal}]\n`));
      if (child === proc) child = undefined;
    });
    try {
      await waitForServer(address, 60_000, () => child === proc);
    } catch (err) {
      proc.kill('SIGKILL');
      throw new Error(`${(err as Error).message}\n${log}`, { cause: err });
    }
  };

  const kill = async (signal: NodeJS.Signals = 'SIGKILL') => {
    const proc = child;
    if (!proc) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill(signal);
    await exited;
  };

  // A test process that dies without cleaning up should not leave a server behind.
  process.once('exit', () => child?.kill('SIGKILL'));

  await start();
  return { address, dbFilename: opts.dbFilename, start, kill, running: () => child !== undefined, output: () => log };
}
