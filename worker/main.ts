/** `longhaul worker`: one process, many runs; stops gracefully on SIGINT/SIGTERM. */
import { createWorker } from './from-env.js';

export async function runWorker(): Promise<void> {
  const { config, encryptionKeyId, run } = await createWorker();
  const encryption = encryptionKeyId ? `, encryption key ${encryptionKeyId}` : '';
  process.stderr.write(`longhaul worker polling ${config.LONGHAUL_TASK_QUEUE} on ${config.TEMPORAL_ADDRESS} (${config.TEMPORAL_NAMESPACE}${encryption})\n`);
  await run();
}
