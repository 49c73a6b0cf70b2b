import type Anthropic from '@anthropic-ai/sdk';
import type { DataConverter, Duration } from '@temporalio/common';
import type { NativeConnection, Worker } from '@temporalio/worker';
import type { AgentDefinition } from '../../agents/define.js';
import type { BlobStore } from '../../store/blob-store.js';
import { DirectoryStore } from '../../store/directory-store.js';
import { createAnthropic, createLonghaulWorker } from '../../worker/create.js';

export interface TestWorkerOptions {
  store?: BlobStore;
  dataConverter?: DataConverter;
  agents?: AgentDefinition[];
  /** Another model client than the simulator's (another simulator, or one with a key). */
  anthropic?: Anthropic;
  stickyQueueScheduleToStartTimeout?: Duration;
}

/** Where a test's workers run: its dev server, task queue, store directory and simulator. */
export interface TestWorkerSite {
  connection: NativeConnection;
  taskQueue: string;
  storeDir: string;
  simulatorUrl: string;
}

/** A longhaul worker on the test's site, on the directory store unless another is given, with the pre-built bundle. */
export function testWorker(site: TestWorkerSite, opts: TestWorkerOptions = {}): Promise<Worker> {
  const { store, anthropic, ...rest } = opts;
  return createLonghaulWorker({
    connection: site.connection,
    namespace: 'default',
    taskQueue: site.taskQueue,
    store: store ?? new DirectoryStore(site.storeDir),
    anthropic: anthropic ?? createAnthropic({ ANTHROPIC_BASE_URL: site.simulatorUrl }),
    workflowBundlePath: process.env.LONGHAUL_WORKFLOW_BUNDLE,
    ...rest,
  });
}
