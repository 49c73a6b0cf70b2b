import { NativeConnection, type Worker } from '@temporalio/worker';
import type { AgentDefinition } from '../agents/define.js';
import { openStore } from '../store/index.js';
import { encryptionDataConverter, loadKeyring } from '../config/codec.js';
import { temporalConnectionOptions } from '../config/connection.js';
import { readEnv, type EnvConfig } from '../config/env.js';
import type { ToolDefinition } from '../tools/define.js';
import { defaultBundlePath } from './bundle.js';
import { createAnthropic, createLonghaulWorker } from './create.js';
import { telemetryFromEnv } from './telemetry.js';

export interface CreateWorkerOptions {
  /** Agent profiles (`defineAgent`) runs may name with `agent`. */
  agents?: AgentDefinition[];
  /** Tools of runs that name no agent; the built-in workspace tools when omitted. */
  tools?: ToolDefinition[];
  /** Where the settings come from (see config/env.ts); `process.env` when omitted. */
  env?: NodeJS.ProcessEnv;
}

export interface LonghaulWorker {
  worker: Worker;
  config: EnvConfig;
  /** The id of the key new payloads are encrypted with; null without encryption. */
  encryptionKeyId: string | null;
  /** Whether spans go to OTEL_EXPORTER_OTLP_ENDPOINT (worker/telemetry.ts). */
  tracing: boolean;
  /** Polls until `shutdown()` or SIGINT/SIGTERM, then closes the store and the connection. */
  run(): Promise<void>;
  shutdown(): void;
}

/**
 * A worker configured from the environment: the Temporal connection, task queue, store,
 * encryption, model client and tracing. `longhaul worker` is this with no agents; a library user
 * passes their own. A bad setting is a one-line ConfigError naming the variable.
 */
export async function createWorker(opts: CreateWorkerOptions = {}): Promise<LonghaulWorker> {
  const config = readEnv(opts.env);
  const keyring = loadKeyring(config);
  const anthropic = createAnthropic(config);
  const connection = await NativeConnection.connect(temporalConnectionOptions(config));
  const store = await openStore(config, keyring).catch(async (err: unknown) => {
    await connection.close();
    throw err;
  });
  // Started last, so that every path from here on reaches its shutdown in `release`.
  const telemetry = telemetryFromEnv(config);
  const release = async () => {
    // The spans of the last moments are still buffered: send them first.
    await telemetry?.shutdown();
    await store.close();
    await connection.close();
  };
  try {
    const worker = await createLonghaulWorker({
      connection,
      namespace: config.TEMPORAL_NAMESPACE,
      taskQueue: config.LONGHAUL_TASK_QUEUE,
      store,
      anthropic,
      ...(opts.agents ? { agents: opts.agents } : {}),
      ...(opts.tools ? { tools: opts.tools } : {}),
      workflowBundlePath: config.LONGHAUL_WORKFLOW_BUNDLE ?? defaultBundlePath,
      maxConcurrentActivityTaskExecutions: config.LONGHAUL_MAX_CONCURRENT_ACTIVITIES,
      maxConcurrentWorkflowTaskExecutions: config.LONGHAUL_MAX_CONCURRENT_WORKFLOW_TASKS,
      ...(keyring ? { dataConverter: encryptionDataConverter(keyring) } : {}),
      ...(telemetry ? { telemetry } : {}),
    });
    return {
      worker,
      config,
      encryptionKeyId: keyring?.current.id ?? null,
      tracing: telemetry !== undefined,
      run: () => worker.run().finally(release),
      shutdown: () => worker.shutdown(),
    };
  } catch (err) {
    await release();
    throw err;
  }
}
