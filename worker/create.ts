import Anthropic from '@anthropic-ai/sdk';
import type { Duration } from '@temporalio/common';
import { type NativeConnection, Worker } from '@temporalio/worker';
import { existsSync } from 'node:fs';
import { encodedFailuresBundlePath } from './bundle.js';
import { LonghaulPlugin, type LonghaulPluginOptions } from './plugin.js';

export interface LonghaulWorkerOptions extends LonghaulPluginOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  /** Path of a pre-built bundle (`npm run build:workflows`); the sources are bundled when absent. */
  workflowBundlePath?: string | undefined;
  maxConcurrentActivityTaskExecutions?: number;
  maxConcurrentWorkflowTaskExecutions?: number;
  /** How long a run's workflow task waits for this worker on its sticky queue; LonghaulPlugin's 3 s when omitted. */
  stickyQueueScheduleToStartTimeout?: Duration;
}

/**
 * The model client. The API key is read here, in the worker, and nowhere else: it never enters a
 * workflow input, an activity input or Temporal's history. Temporal retries model calls, so the
 * SDK's own retries are off (two retry layers would multiply waits and hide failures).
 */
export function createAnthropic(env: {
  ANTHROPIC_API_KEY?: string | undefined;
  ANTHROPIC_BASE_URL?: string | undefined;
}): Anthropic {
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

/** A worker of longhaul's workflow only: `Worker.create` with LonghaulPlugin and the settings of `longhaul worker`. */
export async function createLonghaulWorker({
  connection,
  namespace,
  taskQueue,
  workflowBundlePath,
  maxConcurrentActivityTaskExecutions = 100,
  maxConcurrentWorkflowTaskExecutions = 100,
  stickyQueueScheduleToStartTimeout,
  ...plugin
}: LonghaulWorkerOptions): Promise<Worker> {
  // With encryption the workflow code must carry the encoded-failures converter too; without a
  // pre-built bundle of that kind the sources are bundled, and Worker.create adds the converter.
  const wanted =
    workflowBundlePath && plugin.dataConverter?.failureConverterPath
      ? encodedFailuresBundlePath(workflowBundlePath)
      : workflowBundlePath;
  const bundle = wanted && existsSync(wanted) ? wanted : undefined;
  const longhaul = new LonghaulPlugin(plugin);
  await longhaul.connectMcpServers();
  return Worker.create({
    connection,
    namespace,
    taskQueue,
    // A pre-built bundle has longhaul's workflow and its interceptors in it already (worker/bundle.ts).
    ...(bundle ? { workflowBundle: { codePath: bundle } } : {}),
    maxConcurrentActivityTaskExecutions,
    maxConcurrentWorkflowTaskExecutions,
    // On SIGINT/SIGTERM running activities get this long to finish; Temporal retries the rest.
    shutdownGraceTime: '10 seconds',
    ...(stickyQueueScheduleToStartTimeout ? { stickyQueueScheduleToStartTimeout } : {}),
    plugins: [longhaul],
  }).catch(async (err: unknown) => {
    await longhaul.closeMcpServers();
    throw err;
  });
}
