/**
 * A test worker in a process of its own, so that a test can SIGKILL it, with a setting
 * `longhaul worker` has none for: LONGHAUL_TEST_STICKY_TIMEOUT (its sticky schedule-to-start
 * timeout). harness.spawnWorker starts it with the environment it gives `longhaul worker`, and
 * waits for the same line.
 */
import type { Duration } from '@temporalio/common';
import { NativeConnection } from '@temporalio/worker';
import { testWorker } from './test-worker.js';

const env = process.env;
const connection = await NativeConnection.connect({ address: env.TEMPORAL_ADDRESS! });
const worker = await testWorker(
  {
    connection,
    taskQueue: env.LONGHAUL_TASK_QUEUE!,
    storeDir: env.LONGHAUL_STORE_DIR!,
    simulatorUrl: env.ANTHROPIC_BASE_URL!,
  },
  { stickyQueueScheduleToStartTimeout: env.LONGHAUL_TEST_STICKY_TIMEOUT as Duration },
);
process.stdout.write(
  `longhaul worker polling ${env.LONGHAUL_TASK_QUEUE} (test worker, sticky timeout ${env.LONGHAUL_TEST_STICKY_TIMEOUT})\n`,
);
await worker.run();
await connection.close();
