/** `longhaul worker`: one process, many runs; stops gracefully on SIGINT/SIGTERM. */
import { NativeConnection, Runtime } from '@temporalio/worker';
import { encryptionDataConverter, loadKeyring } from '../config/codec.js';
import { temporalConnectionOptions } from '../config/connection.js';
import { readEnv } from '../config/env.js';
import { openStore } from '../activities/store/index.js';
import { defaultBundlePath } from './bundle.js';
import { createAnthropic, createLonghaulWorker } from './create.js';
import { createLogger } from './logger.js';
import { telemetryFromEnv } from './telemetry.js';

export async function runWorker(): Promise<void> {
  const env = readEnv();
  // Before any connection: Temporal's runtime takes its logger once, when it is created.
  const logger = createLogger({ format: env.LONGHAUL_LOG_FORMAT, level: env.LONGHAUL_LOG_LEVEL });
  Runtime.install({ logger });
  const keyring = loadKeyring(env);
  const connection = await NativeConnection.connect(temporalConnectionOptions(env));
  const store = await openStore(env, keyring);
  // Started here, so that every path from here on reaches its shutdown below.
  const telemetry = telemetryFromEnv(env);
  try {
    const worker = await createLonghaulWorker({
      connection,
      namespace: env.TEMPORAL_NAMESPACE,
      taskQueue: env.LONGHAUL_TASK_QUEUE,
      store,
      anthropic: createAnthropic(env),
      workflowBundlePath: env.LONGHAUL_WORKFLOW_BUNDLE ?? defaultBundlePath,
      maxConcurrentActivityTaskExecutions: env.LONGHAUL_MAX_CONCURRENT_ACTIVITIES,
      maxConcurrentWorkflowTaskExecutions: env.LONGHAUL_MAX_CONCURRENT_WORKFLOW_TASKS,
      ...(keyring ? { dataConverter: encryptionDataConverter(keyring) } : {}),
      ...(telemetry ? { telemetry } : {}),
    });
    const encryption = keyring ? `, encryption key ${keyring.current.id}` : '';
    const tracing = telemetry ? `, tracing to ${env.OTEL_EXPORTER_OTLP_ENDPOINT}` : '';
    logger.info(`longhaul worker polling ${env.LONGHAUL_TASK_QUEUE} on ${env.TEMPORAL_ADDRESS} (${env.TEMPORAL_NAMESPACE}${encryption}${tracing})`);
    await worker.run();
  } finally {
    // The spans of the last moments are still buffered: send them first.
    await telemetry?.shutdown();
    await store.close();
    await connection.close();
  }
}
