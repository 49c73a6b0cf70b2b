import Anthropic from '@anthropic-ai/sdk';
import type { DataConverter } from '@temporalio/common';
import { NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { existsSync } from 'node:fs';
import type { AgentDefinition } from '../agents/define.js';
import { createActivities } from '../activities/index.js';
import type { BlobStore } from '../store/blob-store.js';
import type { ToolDefinition } from '../tools/define.js';
import { encodedFailuresBundlePath, workflowInterceptorModules, workflowsPath } from './bundle.js';
import { reclaimOrphans, workerSelf } from './reclaim.js';
import { ensureSearchAttributes } from './search-attributes.js';
import { discardWorkflowSpans, type Telemetry } from './telemetry.js';

export interface LonghaulWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  store: BlobStore;
  anthropic: Anthropic;
  /** Tools of runs that name no agent; the built-in workspace tools when omitted. */
  tools?: ToolDefinition[];
  /** Agent profiles runs may name; every worker on a task queue must serve the same ones. */
  agents?: AgentDefinition[];
  /** Path of a pre-built bundle (`npm run build:workflows`); the sources are bundled when absent. */
  workflowBundlePath?: string;
  maxConcurrentActivityTaskExecutions?: number;
  maxConcurrentWorkflowTaskExecutions?: number;
  /** Payload codecs (encryption: `encryptionDataConverter` in config/codec.ts); the client must use the same. */
  dataConverter?: DataConverter;
  /** Tracing (worker/telemetry.ts); the caller shuts it down after the worker stops. */
  telemetry?: Telemetry;
}

/**
 * The model client. The API key is read here, in the worker, and nowhere else: it never enters a
 * workflow input, an activity input or Temporal's history. Temporal retries model calls, so the
 * SDK's own retries are off (two retry layers would multiply waits and hide failures).
 */
export function createAnthropic(env: { ANTHROPIC_API_KEY?: string; ANTHROPIC_BASE_URL?: string }): Anthropic {
  if (!env.ANTHROPIC_API_KEY && !env.ANTHROPIC_BASE_URL) {
    throw new Error('set ANTHROPIC_API_KEY to use Claude, or ANTHROPIC_BASE_URL to use the simulator');
  }
  return new Anthropic({
    apiKey: env.ANTHROPIC_API_KEY ?? 'simulator',
    ...(env.ANTHROPIC_BASE_URL ? { baseURL: env.ANTHROPIC_BASE_URL } : {}),
    maxRetries: 0,
    timeout: 10 * 60 * 1000,
  });
}

export async function createLonghaulWorker(opts: LonghaulWorkerOptions): Promise<Worker> {
  await ensureSearchAttributes(opts.connection, opts.namespace);
  // With encryption the workflow code must carry the encoded-failures converter too; without a
  // pre-built bundle of that kind the sources are bundled, and Worker.create adds the converter.
  const wanted = opts.workflowBundlePath && opts.dataConverter?.failureConverterPath ? encodedFailuresBundlePath(opts.workflowBundlePath) : opts.workflowBundlePath;
  const bundle = wanted && existsSync(wanted) ? wanted : undefined;
  const self = workerSelf();
  const worker = await Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    identity: self.identity,
    ...(bundle ? { workflowBundle: { codePath: bundle } } : { workflowsPath }),
    // A pre-built bundle has the workflow interceptors in it already (worker/bundle.ts).
    interceptors: { ...(bundle ? {} : { workflowModules: workflowInterceptorModules }), activity: opts.telemetry?.activityInterceptors ?? [] },
    sinks: opts.telemetry?.sinks ?? discardWorkflowSpans,
    ...(opts.dataConverter ? { dataConverter: opts.dataConverter } : {}),
    activities: createActivities({
      anthropic: opts.anthropic,
      store: opts.store,
      ...(opts.tools ? { tools: opts.tools } : {}),
      ...(opts.agents ? { agents: opts.agents } : {}),
    }),
    maxConcurrentActivityTaskExecutions: opts.maxConcurrentActivityTaskExecutions ?? 100,
    maxConcurrentWorkflowTaskExecutions: opts.maxConcurrentWorkflowTaskExecutions ?? 100,
    // On SIGINT/SIGTERM running activities get this long to finish; Temporal retries the rest.
    shutdownGraceTime: '10 seconds',
    // A workflow task waits this long for the worker that holds the run in its cache before any
    // worker may take it (and replay): a killed worker's runs move on after 3 s, not 10.
    stickyQueueScheduleToStartTimeout: '3 seconds',
    // Heartbeats leave at most once a second (the SDK's default, 80% of the heartbeat timeout,
    // would leave a loaded worker under half a second of margin before the server times it out).
    maxHeartbeatThrottleInterval: '1 second',
  });
  // In the background: the worker polls meanwhile, and never reclaims its own work (its identity is unique).
  const log = Runtime.instance().logger;
  reclaimOrphans(opts.connection, opts.namespace, opts.taskQueue, self).then(
    ({ runs, activities, stickyResets, tasksReturned }) => {
      if (activities.length || stickyResets) {
        const gone = [...new Set(activities.map((a) => a.worker))].join(', ');
        log.info(
          `reclaimed from gone workers${gone ? ` (${gone})` : ''}: ${activities.length} activities, ${stickyResets} sticky queues, ${tasksReturned} waiting workflow tasks, among ${runs} running runs`,
          { activities },
        );
      }
    },
    (err: Error) => log.warn(`could not look for a gone worker's activities: ${err.message}`),
  );
  return worker;
}
