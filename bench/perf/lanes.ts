import type { Worker } from '@temporalio/worker';
import { DirectoryStore } from '../../store/directory-store.js';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../simulator/server.js';
import type { Harness } from '../../test/helpers/harness.js';
import { TEST_WORKER_DEFAULTS } from '../../test/helpers/test-worker.js';
import { createAnthropic, createLonghaulWorker } from '../../worker/create.js';

/**
 * A lane: a simulator and the task queue of the in-process workers that talk to it, on the
 * harness's dev server. The zero-latency lane is the harness's own simulator and task queue;
 * lanes with other simulator options (latency, a larger context window) get their own.
 * `harness` is the harness seen from this lane, for `startAudit`.
 */
export interface Lane {
  name: string;
  simulator: Simulator;
  taskQueue: string;
  harness: Harness;
  /** A new in-process longhaul worker on this lane (a Worker runs once: one per measurement). */
  worker(): Promise<Worker>;
  close(): Promise<void>;
}

const workerOn = (h: Harness, taskQueue: string, simulator: Simulator) => () =>
  createLonghaulWorker({
    connection: h.env.nativeConnection,
    namespace: 'default',
    taskQueue,
    store: new DirectoryStore(h.storeDir),
    anthropic: createAnthropic({ ANTHROPIC_BASE_URL: simulator.url }),
    workflowBundlePath: process.env.LONGHAUL_WORKFLOW_BUNDLE,
    // The lanes' workspaces are under the harness's temporary directory; the audits write.
    ...TEST_WORKER_DEFAULTS,
  });

export function harnessLane(h: Harness): Lane {
  return {
    name: 'default',
    simulator: h.simulator,
    taskQueue: h.taskQueue,
    harness: h,
    worker: workerOn(h, h.taskQueue, h.simulator),
    close: async () => {},
  };
}

export async function startLane(h: Harness, name: string, options: SimulatorOptions): Promise<Lane> {
  const simulator = await startSimulator(options);
  const taskQueue = `${h.taskQueue}-${name}`;
  return {
    name,
    simulator,
    taskQueue,
    harness: { ...h, simulator, taskQueue },
    worker: workerOn(h, taskQueue, simulator),
    close: () => simulator.close(),
  };
}
