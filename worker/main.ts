/** `longhaul worker`: one process, many runs; stops gracefully on SIGINT/SIGTERM. */
import { Runtime } from '@temporalio/worker';
import { readEnv } from '../config/env.js';
import { createWorker } from './from-env.js';
import { createLogger } from './logger.js';

export async function runWorker(): Promise<void> {
  const env = readEnv();
  // Before any connection: Temporal's runtime takes its logger once, when it is created.
  const logger = createLogger({ format: env.LONGHAUL_LOG_FORMAT, level: env.LONGHAUL_LOG_LEVEL });
  Runtime.install({ logger });
  const { config, encryptionKeyId, tracing, run } = await createWorker();
  const encryption = encryptionKeyId ? `, encryption key ${encryptionKeyId}` : '';
  const traced = tracing ? `, tracing to ${config.OTEL_EXPORTER_OTLP_ENDPOINT}` : '';
  logger.info(
    `longhaul worker polling ${config.LONGHAUL_TASK_QUEUE} on ${config.TEMPORAL_ADDRESS} (${config.TEMPORAL_NAMESPACE}${encryption}${traced})`,
  );
  await run();
}
