import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, type Worker } from '@temporalio/worker';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll } from 'vitest';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../simulator/server.js';
import { TEST_WORKER_ENV, testWorker, type TestWorkerOptions } from './test-worker.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

// Worker lifecycle chatter at INFO drowns test output; warnings and errors still show.
Runtime.install({ logger: new DefaultLogger('WARN') });

/** A real dev server, a real simulator, and scratch directories for one test file. */
export interface Harness {
  env: TestWorkflowEnvironment;
  simulator: Simulator;
  dir: string;
  storeDir: string;
  taskQueue: string;
  /** An in-process worker (test/helpers/test-worker.ts). */
  startWorker(opts?: TestWorkerOptions): Promise<Worker>;
  /**
   * `longhaul worker` as a child process (on another task queue if given); resolves once it polls.
   * With `stickyTimeout` or `holdAfterResult`, test/helpers/worker-process.ts instead: a worker
   * whose runs' workflow tasks wait that long on its sticky queue, or that hangs once it recorded
   * the result of a call of that tool (printing `held after recording the result of …`). With
   * `within`, run under that command (e.g. `unshare …`); with `until`, resolves once its output
   * includes that instead of the polling line.
   */
  spawnWorker(
    taskQueue?: string,
    env?: Record<string, string>,
    opts?: { stickyTimeout?: string; holdAfterResult?: string; within?: string[]; until?: string; agents?: string },
  ): Promise<ChildProcess>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  /** A SQLite file for the dev server (in memory otherwise). */
  dbFilename?: string;
  /** Dynamic config values of the dev server (`--dynamic-config-value`). */
  dynamicConfig?: Record<string, unknown>;
  /** The simulator's options (a latency per model call, say). */
  simulator?: SimulatorOptions;
}

export async function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: process.env.TEMPORAL_CLI! },
      ...(opts.dbFilename ? { dbFilename: opts.dbFilename } : {}),
      extraArgs: Object.entries(opts.dynamicConfig ?? {}).flatMap(([key, value]) => [
        '--dynamic-config-value',
        `${key}=${JSON.stringify(value)}`,
      ]),
    },
  });
  const simulator = await startSimulator(opts.simulator);
  const dir = await mkdtemp(join(tmpdir(), 'longhaul-test-'));
  const storeDir = join(dir, 'store');
  const taskQueue = `test-${Math.random().toString(36).slice(2, 8)}`;
  const children = new Set<ChildProcess>();

  const workerEnv = {
    ...process.env,
    TEMPORAL_ADDRESS: env.address,
    LONGHAUL_TASK_QUEUE: taskQueue,
    LONGHAUL_STORE_DIR: storeDir,
    ANTHROPIC_BASE_URL: simulator.url,
    ANTHROPIC_API_KEY: '',
    ...TEST_WORKER_ENV,
  };

  return {
    env,
    simulator,
    dir,
    storeDir,
    taskQueue,
    startWorker: (workerOpts = {}) =>
      testWorker({ connection: env.nativeConnection, taskQueue, storeDir, simulatorUrl: simulator.url }, workerOpts),
    spawnWorker: (
      queue = taskQueue,
      extraEnv = {},
      { stickyTimeout, holdAfterResult, within = [], until = 'longhaul worker polling', agents } = {},
    ) =>
      new Promise((resolve, reject) => {
        const args =
          stickyTimeout || holdAfterResult || agents
            ? ['--import', 'tsx', join(repoRoot, 'test/helpers/worker-process.ts')]
            : [join(repoRoot, 'bin/longhaul.mjs'), 'worker'];
        const [command, ...prefix] = [...within, process.execPath];
        const child = spawn(command, [...prefix, ...args], {
          cwd: repoRoot,
          env: {
            ...workerEnv,
            LONGHAUL_TASK_QUEUE: queue,
            ...(stickyTimeout ? { LONGHAUL_TEST_STICKY_TIMEOUT: stickyTimeout } : {}),
            ...(holdAfterResult ? { LONGHAUL_TEST_HOLD_AFTER_RESULT: holdAfterResult } : {}),
            ...(agents ? { LONGHAUL_TEST_AGENTS: agents } : {}),
            ...extraEnv,
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        children.add(child);
        child.on('exit', () => children.delete(child));
        let output = '';
        const onData = (chunk: Buffer) => {
          output += chunk.toString();
          if (output.includes(until)) resolve(child);
        };
        child.stderr.on('data', onData);
        child.stdout.on('data', onData);
        child.on('exit', (code) => reject(new Error(`worker exited with ${code} before polling:\n${output}`)));
      }),
    async close() {
      for (const child of children) child.kill('SIGKILL');
      await simulator.close();
      await env.teardown();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The harness of a test file, or of the describe block it is called in: started in beforeAll
 * (with an in-process worker running, if `worker` is given: `{}` for the defaults) and closed in
 * afterAll. Its fields may be read in hooks and tests, not while the file is collected.
 */
export function useHarness(opts: HarnessOptions & { worker?: TestWorkerOptions } = {}): Omit<Harness, 'close'> {
  let h: Harness | undefined;
  let worker: Worker | undefined;
  let running: Promise<void> | undefined;
  beforeAll(async () => {
    h = await startHarness(opts);
    if (opts.worker) {
      worker = await h.startWorker(opts.worker);
      running = worker.run();
    }
  });
  afterAll(async () => {
    worker?.shutdown();
    await running;
    await h?.close();
  });
  const current = () => {
    if (!h) throw new Error('the harness is not started: read it in a hook or a test');
    return h;
  };
  return {
    get env() {
      return current().env;
    },
    get simulator() {
      return current().simulator;
    },
    get dir() {
      return current().dir;
    },
    get storeDir() {
      return current().storeDir;
    },
    get taskQueue() {
      return current().taskQueue;
    },
    startWorker: (workerOpts) => current().startWorker(workerOpts),
    spawnWorker: (...args) => current().spawnWorker(...args),
  };
}
