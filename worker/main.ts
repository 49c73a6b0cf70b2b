/** `longhaul worker`: one process, many runs; stops gracefully on SIGINT/SIGTERM. */
import { NativeConnection } from '@temporalio/worker';
import { encryptionDataConverter, loadKeyring } from '../config/codec.js';
import { temporalConnectionOptions } from '../config/connection.js';
import { readEnv } from '../config/env.js';
import { openStore } from '../store/index.js';
import { defaultBundlePath } from './bundle.js';
import { createAnthropic, createLonghaulWorker } from './create.js';

export async function runWorker(): Promise<void> {
  const env = readEnv();
  const keyring = loadKeyring(env);
  const connection = await NativeConnection.connect(temporalConnectionOptions(env));
  const store = await openStore(env, keyring);
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
    });
    const encryption = keyring ? `, encryption key ${keyring.current.id}` : '';
    process.stderr.write(`longhaul worker polling ${env.LONGHAUL_TASK_QUEUE} on ${env.TEMPORAL_ADDRESS} (${env.TEMPORAL_NAMESPACE}${encryption})\n`);
    await worker.run();
  } finally {
    await store.close();
    await connection.close();
  }
}
