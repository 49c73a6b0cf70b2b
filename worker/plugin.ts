/**
 * longhaul as a plugin of the user's own worker: `Worker.create({ ..., plugins: [new LonghaulPlugin(…)] })`
 * beside the user's own workflows and activities, on one task queue.
 */
import type Anthropic from '@anthropic-ai/sdk';
import type { DataConverter } from '@temporalio/common';
import { SimplePlugin } from '@temporalio/plugin';
import {
  Runtime,
  type BundleOptions,
  type ReplayWorkerOptions,
  type Worker,
  type WorkerOptions,
} from '@temporalio/worker';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createActivities, type ActivityDeps } from '../activities/index.js';
import { describeZodError } from '../common/options.js';
import { WriteProtectedEntry } from '../common/write-protected.js';
import type { AgentDefinition } from '../agents/define.js';
import type { BlobStore } from '../store/blob-store.js';
import type { ToolDefinition } from '../tools/define.js';
import { parseMcpServers, type McpServers } from '../tools/mcp/config.js';
import { McpHub } from '../tools/mcp/hub.js';
import { workflowInterceptorModules, workflowsPath } from './bundle.js';
import { reclaimOrphans, workerSelf } from './reclaim.js';
import { ensureSearchAttributes } from './search-attributes.js';
import { discardWorkflowSpans, type Telemetry } from './telemetry.js';

export interface LonghaulPluginOptions {
  store: BlobStore;
  anthropic: Anthropic;
  /** Tools of runs that name no agent; the built-in workspace tools when omitted. */
  tools?: ToolDefinition[];
  /** Agent profiles runs may name; every worker on a task queue must serve the same ones. */
  agents?: AgentDefinition[];
  /** Directories runs may work in; the worker's current directory when omitted (activities/index.ts, ActivityDeps). */
  workspaceRoots?: ActivityDeps['workspaceRoots'];
  /** The most permissive tool policies of runs that name no agent; runs may only narrow them. */
  toolPolicies?: ActivityDeps['toolPolicies'];
  /** Origins escalation webhooks may be posted to; none when omitted. */
  webhookAllow?: ActivityDeps['webhookAllow'];
  /**
   * Paths the file tools may not write, beside `.git` which is always protected: `secrets` (any
   * component of that name) or `config/prod` (a prefix relative to the workspace). `LONGHAUL_WRITE_PROTECTED`.
   */
  writeProtected?: readonly string[];
  /** Prices over the table's list prices, by model id (`LONGHAUL_PRICES`; common/cost.ts). */
  prices?: ActivityDeps['prices'];
  /**
   * MCP servers whose tools runs without an agent may call, as `<server>__<tool>`
   * (`LONGHAUL_MCP_SERVERS`; tools/mcp/config.ts); agents name their own. Connected before the
   * worker polls, closed when it stops; `${VAR}` in env and header values comes from this
   * process's environment.
   */
  mcpServers?: McpServers;
  /** Where `${VAR}` in the MCP servers' env and header values is read; `process.env` when omitted. */
  mcpEnv?: NodeJS.ProcessEnv;
  /** Payload codecs (encryption: `encryptionDataConverter` in config/codec.ts), for the whole worker; the client must use the same. */
  dataConverter?: DataConverter;
  /** Tracing (worker/telemetry.ts), of the whole worker's activities; the caller shuts it down after the worker stops. */
  telemetry?: Telemetry;
}

/** The option checked at start, so that a bad entry is one clear error rather than a silently unprotected path. */
function writeProtectedOption(entries: readonly string[]): string[] {
  const parsed = WriteProtectedEntry.array().safeParse(entries);
  if (!parsed.success) throw new Error(`writeProtected: ${describeZodError(parsed.error)}`);
  return parsed.data;
}

/** Longhaul's workflows and the user's in one module (worker/with-user-workflows.ts). */
const withUserWorkflowsPath = fileURLToPath(new URL('./with-user-workflows.ts', import.meta.url));
const USER_WORKFLOWS = 'longhaul-user-workflows';

type WebpackConfig = Parameters<NonNullable<BundleOptions['webpackConfigHook']>>[0];
type WorkflowCode = Pick<WorkerOptions, 'workflowsPath' | 'workflowBundle'>;

const isLonghauls = (path: string) => path === workflowsPath || path === withUserWorkflowsPath;

/** The webpack configuration with `longhaul-user-workflows` resolving to the user's module. */
function aliasUserWorkflows(userPath: string, hook: BundleOptions['webpackConfigHook']) {
  return (config: WebpackConfig): WebpackConfig => {
    const c = hook ? hook(config) : config;
    const alias = c.resolve?.alias;
    const target = resolve(userPath);
    return {
      ...c,
      resolve: {
        ...c.resolve,
        alias: Array.isArray(alias)
          ? [...alias, { name: USER_WORKFLOWS, alias: target, onlyModule: true }]
          : { ...alias, [`${USER_WORKFLOWS}$`]: target },
      },
    };
  };
}

/**
 * A worker with no workflows of its own bundles longhaul's; the user's are bundled beside
 * longhaul's in `configureBundler`, which the worker's bundling calls. A pre-built bundle is left
 * as it is: it must hold agentRun already (`bundleWorkflowCode({ workflowsPath, plugins: [plugin] })`).
 */
const withLonghaulWorkflows = <T extends WorkflowCode>(options: T): T =>
  options.workflowBundle ? options : { ...options, workflowsPath: options.workflowsPath ?? workflowsPath };

/**
 * Adds to a worker: longhaul's activities (model calls, tools, agents), its workflow beside the
 * user's, the tracing interceptors and sinks, the data converter if given; at run, the search
 * attributes and the reclaiming of a gone predecessor's longhaul runs (worker/reclaim.ts). Of the
 * worker's settings it sets only the two that crash recovery relies on, and only where the user
 * has not (docs/design.md, "Workers").
 */
export class LonghaulPlugin extends SimplePlugin {
  private readonly activities: ReturnType<typeof createActivities>;
  private readonly telemetry: Telemetry | undefined;
  private readonly failureConverterPath: string | undefined;
  private readonly mcp: McpHub;

  constructor(opts: LonghaulPluginOptions) {
    const mcp = new McpHub(
      {
        worker: opts.mcpServers && parseMcpServers('mcpServers', opts.mcpServers),
        ...(opts.agents ? { agents: opts.agents } : {}),
      },
      {
        env: opts.mcpEnv ?? process.env,
        warn: (message) => {
          Runtime.instance().logger.warn(message);
        },
      },
    );
    const activities = createActivities({
      mcp,
      anthropic: opts.anthropic,
      store: opts.store,
      ...(opts.tools ? { tools: opts.tools } : {}),
      ...(opts.agents ? { agents: opts.agents } : {}),
      ...(opts.workspaceRoots ? { workspaceRoots: opts.workspaceRoots } : {}),
      ...(opts.toolPolicies ? { toolPolicies: opts.toolPolicies } : {}),
      ...(opts.webhookAllow ? { webhookAllow: opts.webhookAllow } : {}),
      ...(opts.writeProtected ? { writeProtected: writeProtectedOption(opts.writeProtected) } : {}),
      ...(opts.prices ? { prices: opts.prices } : {}),
    });
    super({
      name: 'longhaul',
      activities,
      ...(opts.dataConverter ? { dataConverter: opts.dataConverter } : {}),
      // The workflow interceptors are always part of the workflow code, traced or not (worker/bundle.ts).
      workerInterceptors: {
        workflowModules: workflowInterceptorModules,
        activity: opts.telemetry?.activityInterceptors ?? [],
      },
    });
    this.activities = activities;
    this.mcp = mcp;
    this.telemetry = opts.telemetry;
    this.failureConverterPath = opts.dataConverter?.failureConverterPath;
  }

  /**
   * Connects the MCP servers and lists their tools; runWorker does it if nobody did before.
   * createLonghaulWorker calls it before Worker.create: a server that cannot be reached then fails
   * the start before a worker exists (one created and never run keeps its connection from closing).
   */
  connectMcpServers(): Promise<void> {
    return this.mcp.start();
  }

  /** Stops the MCP servers (stdio) and closes their connections; runWorker does it when the worker stops. */
  closeMcpServers(): Promise<void> {
    return this.mcp.close();
  }

  /** The workflow spans' sink: the telemetry's, else the user's own if any, else one that drops them. */
  private sinks(own: WorkerOptions['sinks']): NonNullable<WorkerOptions['sinks']> {
    return { ...discardWorkflowSpans, ...own, ...this.telemetry?.sinks };
  }

  override configureWorker(options: WorkerOptions): WorkerOptions {
    // Merged, the plugin's would silently replace the user's activity of the same name.
    const clash = Object.keys(options.activities ?? {}).filter((name) => name in this.activities);
    if (clash.length) throw new Error(`longhaul's activities are named ${clash.join(', ')}: rename the worker's own`);
    return super.configureWorker({
      ...withLonghaulWorkflows(options),
      sinks: this.sinks(options.sinks),
      // A unique identity, so that reclaiming can tell this worker's work from a gone predecessor's.
      identity: options.identity ?? workerSelf().identity,
      // A workflow task waits this long for the worker that holds the run in its cache before any
      // worker may take it (and replay): a killed worker's runs move on after 3 s, not 10.
      stickyQueueScheduleToStartTimeout: options.stickyQueueScheduleToStartTimeout ?? '3 seconds',
      // Heartbeats leave at most once a second (the SDK's default, 80% of the heartbeat timeout,
      // would leave a loaded worker under half a second of margin before the server times it out).
      maxHeartbeatThrottleInterval: options.maxHeartbeatThrottleInterval ?? '1 second',
    });
  }

  override configureReplayWorker(options: ReplayWorkerOptions): ReplayWorkerOptions {
    return super.configureReplayWorker({ ...withLonghaulWorkflows(options), sinks: this.sinks(options.sinks) });
  }

  /** For `bundleWorkflowCode({ workflowsPath, plugins: [plugin] })`, and for the worker's own bundling. */
  override configureBundler(options: BundleOptions): BundleOptions {
    const { workflowsPath: path, webpackConfigHook } = options;
    const merged = isLonghauls(path)
      ? options
      : {
          ...options,
          workflowsPath: withUserWorkflowsPath,
          webpackConfigHook: aliasUserWorkflows(path, webpackConfigHook),
        };
    // With encryption the workflow code carries the encoded-failures converter (config/codec.ts).
    const failureConverterPath = options.failureConverterPath ?? this.failureConverterPath;
    return super.configureBundler({ ...merged, ...(failureConverterPath ? { failureConverterPath } : {}) });
  }

  override async runWorker(worker: Worker, next: (w: Worker) => Promise<void>): Promise<void> {
    // Only a replay worker has no connection, and the SDK does not call this for one.
    const connection = worker.connection!;
    const { namespace, taskQueue, identity } = worker.options;
    // Before the worker polls: a workflow that upserts an unregistered attribute fails its task.
    await ensureSearchAttributes(connection, namespace);
    // Before the worker polls, so that the first run is offered the servers' tools.
    await this.connectMcpServers();
    // In the background: the worker polls meanwhile, and never reclaims its own work (its identity is registered here).
    const log = Runtime.instance().logger;
    reclaimOrphans(connection, namespace, taskQueue, workerSelf(identity)).then(
      ({ runs, activities, stickyResets, tasksReturned }) => {
        if (activities.length || stickyResets) {
          const gone = [...new Set(activities.map((a) => a.worker))].join(', ');
          log.info(
            `reclaimed from gone workers${gone ? ` (${gone})` : ''}: ${activities.length} activities, ${stickyResets} sticky queues, ${tasksReturned} waiting workflow tasks, among ${runs} running runs`,
            { activities },
          );
        } else log.debug(`reclaimed nothing: no gone worker's work among ${runs} running runs`);
      },
      (err: Error) => {
        log.warn(`could not look for a gone worker's activities: ${err.message}`);
      },
    );
    try {
      return await super.runWorker(worker, next);
    } finally {
      await this.closeMcpServers();
    }
  }
}
