import type Anthropic from '@anthropic-ai/sdk';
import type { DataConverter, Duration } from '@temporalio/common';
import type { NativeConnection, Worker } from '@temporalio/worker';
import { tmpdir } from 'node:os';
import type { AgentDefinition } from '../../agents/define.js';
import type { ToolPolicy } from '../../common/options.js';
import type { ToolDefinition } from '../../tools/define.js';
import type { BlobStore } from '../../store/blob-store.js';
import { DirectoryStore } from '../../store/directory-store.js';
import { createAnthropic, createLonghaulWorker } from '../../worker/create.js';
import type { McpServers } from '../../tools/mcp/config.js';

export interface TestWorkerOptions {
  store?: BlobStore;
  dataConverter?: DataConverter;
  agents?: AgentDefinition[];
  /** Tools of runs that name no agent; default: the workspace tools. */
  tools?: ToolDefinition[];
  /** Another model client than the simulator's (another simulator, or one with a key). */
  anthropic?: Anthropic;
  stickyQueueScheduleToStartTimeout?: Duration;
  /** Default: the system's temporary directory, where every test's workspaces are. */
  workspaceRoots?: readonly string[];
  /** Default: write_file allowed, so that runs may allow it (the audits do); a run narrows it to ask. */
  toolPolicies?: Record<string, ToolPolicy>;
  webhookAllow?: string[];
  mcpServers?: McpServers;
}

/** The settings a test worker has unless told otherwise; spawned `longhaul worker`s get them as env (TEST_WORKER_ENV). */
export const TEST_WORKER_DEFAULTS: { workspaceRoots: readonly string[]; toolPolicies: Record<string, ToolPolicy> } = {
  workspaceRoots: [tmpdir()],
  toolPolicies: { write_file: 'allow' },
};
export const TEST_WORKER_ENV = {
  LONGHAUL_WORKSPACE_ROOTS: tmpdir(),
  LONGHAUL_TOOL_POLICIES: 'write_file=allow',
};

/** Where a test's workers run: its dev server, task queue, store directory and simulator. */
export interface TestWorkerSite {
  connection: NativeConnection;
  taskQueue: string;
  storeDir: string;
  simulatorUrl: string;
}

/** A longhaul worker on the test's site, on the directory store unless another is given, with the pre-built bundle. */
export function testWorker(site: TestWorkerSite, opts: TestWorkerOptions = {}): Promise<Worker> {
  const { store, anthropic, ...rest } = opts;
  return createLonghaulWorker({
    connection: site.connection,
    namespace: 'default',
    taskQueue: site.taskQueue,
    store: store ?? new DirectoryStore(site.storeDir),
    anthropic: anthropic ?? createAnthropic({ ANTHROPIC_BASE_URL: site.simulatorUrl }),
    workflowBundlePath: process.env.LONGHAUL_WORKFLOW_BUNDLE,
    ...TEST_WORKER_DEFAULTS,
    ...rest,
  });
}
