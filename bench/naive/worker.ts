import type Anthropic from '@anthropic-ai/sdk';
import { Worker, type NativeConnection } from '@temporalio/worker';
import { fileURLToPath } from 'node:url';
import type { BlobStore } from '../../store/blob-store.js';
import { createNaiveActivities } from './activities.js';

const workflowsPath = fileURLToPath(new URL('./workflow.ts', import.meta.url));

/** Its own worker and task queue, so the naive workflow never shares a bundle with agentRun. */
export function createNaiveWorker(opts: {
  connection: NativeConnection;
  taskQueue: string;
  anthropic: Anthropic;
  store: BlobStore;
}): Promise<Worker> {
  return Worker.create({
    connection: opts.connection,
    namespace: 'default',
    taskQueue: opts.taskQueue,
    workflowsPath,
    activities: createNaiveActivities({ anthropic: opts.anthropic, store: opts.store }),
  });
}
