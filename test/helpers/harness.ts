import type { DataConverter } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, type Worker } from '@temporalio/worker';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AgentDefinition } from '../../agents/define.js';
import type { BlobStore } from '../../store/blob-store.js';
import { DirectoryStore } from '../../store/directory-store.js';
import { startSimulator, type Simulator } from '../../simulator/server.js';
import { createAnthropic, createLonghaulWorker } from '../../worker/create.js';

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
  /** An in-process worker, on the directory store unless another is given (and with a data converter if given). */
  startWorker(opts?: { store?: BlobStore; dataConverter?: DataConverter; agents?: AgentDefinition[] }): Promise<Worker>;
  /** `longhaul worker` as a child process (on another task queue if given); resolves once it polls. */
  spawnWorker(taskQueue?: string, env?: Record<string, string>): Promise<ChildProcess>;
  close(): Promise<void>;
}

export async function startHarness(opts: { dbFilename?: string; dynamicConfig?: Record<string, unknown> } = {}): Promise<Harness> {
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: process.env.TEMPORAL_CLI! },
      ...(opts.dbFilename ? { dbFilename: opts.dbFilename } : {}),
      extraArgs: Object.entries(opts.dynamicConfig ?? {}).flatMap(([key, value]) => ['--dynamic-config-value', `${key}=${JSON.stringify(value)}`]),
    },
  });
  const simulator = await startSimulator();
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
  };

  return {
    env,
    simulator,
    dir,
    storeDir,
    taskQueue,
    startWorker: (workerOpts = {}) =>
      createLonghaulWorker({
        connection: env.nativeConnection,
        namespace: 'default',
        taskQueue,
        store: workerOpts.store ?? new DirectoryStore(storeDir),
        anthropic: createAnthropic({ ANTHROPIC_BASE_URL: simulator.url }),
        workflowBundlePath: process.env.LONGHAUL_WORKFLOW_BUNDLE,
        ...(workerOpts.dataConverter ? { dataConverter: workerOpts.dataConverter } : {}),
        ...(workerOpts.agents ? { agents: workerOpts.agents } : {}),
      }),
    spawnWorker: (queue = taskQueue, extraEnv = {}) =>
      new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [join(repoRoot, 'bin/longhaul.mjs'), 'worker'], {
          cwd: repoRoot,
          env: { ...workerEnv, LONGHAUL_TASK_QUEUE: queue, ...extraEnv },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        children.add(child);
        child.on('exit', () => children.delete(child));
        let output = '';
        const onData = (chunk: Buffer) => {
          output += chunk;
          if (output.includes('longhaul worker polling')) resolve(child);
        };
        child.stderr!.on('data', onData);
        child.stdout!.on('data', onData);
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
