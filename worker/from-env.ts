import { NativeConnection, type Worker } from '@temporalio/worker';
import type { AgentDefinition } from '../agents/define.js';
import { openStore } from '../store/index.js';
import { encryptionDataConverter, loadKeyring } from '../config/codec.js';
import { temporalConnectionOptions } from '../config/connection.js';
import { readEnv, type EnvConfig } from '../config/env.js';
import { readPrices } from '../config/prices.js';
import { inlineOrFile } from '../config/inline-or-file.js';
import { codingTools } from '../tools/coding/index.js';
import { readMcpServersJson } from '../tools/mcp/config.js';
import type { ToolDefinition } from '../tools/define.js';
import { workspaceTools } from '../tools/workspace-tools.js';
import { defaultBundlePath } from './bundle.js';
import { createAnthropic, createLonghaulWorker } from './create.js';
import { LonghaulPlugin, type LonghaulPluginOptions } from './plugin.js';
import { telemetryFromEnv } from './telemetry.js';

export interface CreateWorkerOptions {
  /** Agent profiles (`defineAgent`) runs may name with `agent`. */
  agents?: AgentDefinition[];
  /** Tools of runs that name no agent; when omitted, those LONGHAUL_TOOLS names (default: the workspace tools). */
  tools?: ToolDefinition[];
  /** Where the settings come from (see config/env.ts); `process.env` when omitted. */
  env?: NodeJS.ProcessEnv;
}

/** What the environment said, for a worker's start-up line. */
export interface FromEnvironment {
  config: EnvConfig;
  /** The id of the key new payloads are encrypted with; null without encryption. */
  encryptionKeyId: string | null;
  /** Whether spans go to OTEL_EXPORTER_OTLP_ENDPOINT (worker/telemetry.ts). */
  tracing: boolean;
}

export interface LonghaulWorker extends FromEnvironment {
  worker: Worker;
  // Functions, not methods, so they may be taken off the object: `const { run } = await createWorker()`.
  /** Polls until `shutdown()` or SIGINT/SIGTERM, then closes the store and the connection. */
  run: () => Promise<void>;
  shutdown: () => void;
}

/**
 * The tools LONGHAUL_TOOLS names for runs without an agent (the coding tools under
 * LONGHAUL_COMMAND_ALLOW and LONGHAUL_SANDBOX), or undefined when it is unset: the built-in default.
 */
export function toolsFromEnv(config: EnvConfig): ToolDefinition[] | undefined {
  if (!config.LONGHAUL_TOOLS) return undefined;
  const named = new Set(config.LONGHAUL_TOOLS);
  return [
    ...(named.has('workspace') ? workspaceTools : []),
    ...(named.has('coding')
      ? codingTools({ commandAllow: config.LONGHAUL_COMMAND_ALLOW ?? [], sandbox: config.LONGHAUL_SANDBOX ?? 'auto' })
      : []),
  ];
}

/** What the plugin takes, from the environment; `close` releases what was opened. */
async function pluginOptionsFromEnv(
  opts: CreateWorkerOptions,
): Promise<FromEnvironment & { options: LonghaulPluginOptions; close: () => Promise<void> }> {
  const config = readEnv(opts.env);
  const envTools = toolsFromEnv(config);
  const keyring = loadKeyring(config);
  const anthropic = createAnthropic(config);
  const store = await openStore(config, keyring);
  // Started last, so that every path from here on reaches its shutdown in `close`.
  const telemetry = telemetryFromEnv(config);
  const options: LonghaulPluginOptions = {
    store,
    anthropic,
    ...(opts.agents ? { agents: opts.agents } : {}),
    ...(opts.tools ? { tools: opts.tools } : {}),
    ...(!opts.tools && envTools ? { tools: envTools } : {}),
    ...(config.LONGHAUL_WORKSPACE_ROOTS ? { workspaceRoots: config.LONGHAUL_WORKSPACE_ROOTS } : {}),
    ...(config.LONGHAUL_TOOL_POLICIES ? { toolPolicies: config.LONGHAUL_TOOL_POLICIES } : {}),
    ...(config.LONGHAUL_WEBHOOK_ALLOW ? { webhookAllow: config.LONGHAUL_WEBHOOK_ALLOW } : {}),
    ...(config.LONGHAUL_WRITE_PROTECTED ? { writeProtected: config.LONGHAUL_WRITE_PROTECTED } : {}),
    ...(config.LONGHAUL_PRICES ? { prices: readPrices(config.LONGHAUL_PRICES) } : {}),
    ...(config.LONGHAUL_MCP_SERVERS
      ? { mcpServers: readMcpServersJson(inlineOrFile('LONGHAUL_MCP_SERVERS', config.LONGHAUL_MCP_SERVERS).text) }
      : {}),
    // The agents' servers too: `${VAR}` comes from the same environment as every other setting.
    ...(opts.env ? { mcpEnv: opts.env } : {}),
    ...(keyring ? { dataConverter: encryptionDataConverter(keyring) } : {}),
    ...(telemetry ? { telemetry } : {}),
  };
  const close = async () => {
    // The spans of the last moments are still buffered: send them first.
    await telemetry?.shutdown();
    await store.close();
  };
  return { config, options, encryptionKeyId: keyring?.current.id ?? null, tracing: telemetry !== undefined, close };
}

export interface LonghaulPluginFromEnv extends FromEnvironment {
  plugin: LonghaulPlugin;
  /** Sends the last spans and closes the store; once the worker has stopped. */
  close(): Promise<void>;
}

/**
 * LonghaulPlugin configured from the environment as `longhaul worker` is (store, encryption, model
 * client, tracing), for the user's own `Worker.create`. The worker's connection, namespace and
 * task queue are the user's: the client's runs must go to that queue.
 */
export async function createPlugin(opts: CreateWorkerOptions = {}): Promise<LonghaulPluginFromEnv> {
  const { options, ...rest } = await pluginOptionsFromEnv(opts);
  return { plugin: new LonghaulPlugin(options), ...rest };
}

/**
 * A worker configured from the environment: the Temporal connection, task queue, store,
 * encryption, model client and tracing. `longhaul worker` is this with no agents; a library user
 * passes their own. A bad setting is a one-line ConfigError naming the variable.
 */
export async function createWorker(opts: CreateWorkerOptions = {}): Promise<LonghaulWorker> {
  const { config, options, encryptionKeyId, tracing, close } = await pluginOptionsFromEnv(opts);
  const connection = await NativeConnection.connect(temporalConnectionOptions(config)).catch(async (err: unknown) => {
    await close();
    throw err;
  });
  const release = async () => {
    await close();
    await connection.close();
  };
  try {
    const worker = await createLonghaulWorker({
      ...options,
      connection,
      namespace: config.TEMPORAL_NAMESPACE,
      taskQueue: config.LONGHAUL_TASK_QUEUE,
      workflowBundlePath: config.LONGHAUL_WORKFLOW_BUNDLE ?? defaultBundlePath,
      maxConcurrentActivityTaskExecutions: config.LONGHAUL_MAX_CONCURRENT_ACTIVITIES,
      maxConcurrentWorkflowTaskExecutions: config.LONGHAUL_MAX_CONCURRENT_WORKFLOW_TASKS,
    });
    return {
      worker,
      config,
      encryptionKeyId,
      tracing,
      run: () => worker.run().finally(release),
      shutdown: () => worker.shutdown(),
    };
  } catch (err) {
    await release();
    throw err;
  }
}
