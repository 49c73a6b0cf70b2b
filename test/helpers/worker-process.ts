/**
 * A test worker in a process of its own, so that a test can SIGKILL it, with settings
 * `longhaul worker` has none for: LONGHAUL_TEST_STICKY_TIMEOUT (its sticky schedule-to-start
 * timeout) and LONGHAUL_TEST_HOLD_AFTER_RESULT (a tool name: the worker hangs once it recorded
 * a call's result, test/helpers/faulty-ledger.ts HoldAfterResult) and LONGHAUL_TEST_AGENTS (a
 * module whose `agents` export are the agent profiles it serves). Like `longhaul worker`, it
 * serves the tools LONGHAUL_TOOLS names under LONGHAUL_TOOL_POLICIES. harness.spawnWorker starts
 * it with the environment it gives `longhaul worker`, and waits for the same line.
 */
import type { Duration } from '@temporalio/common';
import { pathToFileURL } from 'node:url';
import type { AgentDefinition } from '../../agents/define.js';
import { NativeConnection } from '@temporalio/worker';
import { readEnv } from '../../config/env.js';
import { DirectoryStore } from '../../store/directory-store.js';
import { toolsFromEnv } from '../../worker/from-env.js';
import { HoldAfterResult } from './faulty-ledger.js';
import { testWorker } from './test-worker.js';

const env = process.env;
const config = readEnv(env);
const tools = toolsFromEnv(config);
const sticky = env.LONGHAUL_TEST_STICKY_TIMEOUT as Duration | undefined;
const hold = env.LONGHAUL_TEST_HOLD_AFTER_RESULT;
const agents = env.LONGHAUL_TEST_AGENTS
  ? ((await import(pathToFileURL(env.LONGHAUL_TEST_AGENTS).href)) as { agents: AgentDefinition[] }).agents
  : undefined;
const connection = await NativeConnection.connect({ address: env.TEMPORAL_ADDRESS! });
const worker = await testWorker(
  {
    connection,
    taskQueue: env.LONGHAUL_TASK_QUEUE!,
    storeDir: env.LONGHAUL_STORE_DIR!,
    simulatorUrl: env.ANTHROPIC_BASE_URL!,
  },
  {
    ...(sticky ? { stickyQueueScheduleToStartTimeout: sticky } : {}),
    ...(hold ? { store: new HoldAfterResult(new DirectoryStore(env.LONGHAUL_STORE_DIR!), hold) } : {}),
    ...(tools ? { tools } : {}),
    ...(agents ? { agents } : {}),
    ...(config.LONGHAUL_TOOL_POLICIES ? { toolPolicies: config.LONGHAUL_TOOL_POLICIES } : {}),
  },
);
process.stdout.write(
  `longhaul worker polling ${env.LONGHAUL_TASK_QUEUE} (test worker, sticky timeout ${sticky ?? 'default'}, holding after ${hold ?? 'nothing'})\n`,
);
await worker.run();
await connection.close();
