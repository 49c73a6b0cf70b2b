import type { McpServers } from './config.js';
import { McpToolSource, type McpSourceOptions } from './tool-source.js';

/**
 * Every MCP server of a worker: those of its runs without an agent, and each agent's own. The
 * worker connects them before it polls (worker/plugin.ts, runWorker) and closes them when it stops.
 */
export class McpHub {
  readonly worker: McpToolSource | undefined;
  readonly agents: ReadonlyMap<string, McpToolSource>;
  private started: Promise<void> | undefined;

  constructor(
    servers: {
      worker?: McpServers | undefined;
      agents?: readonly { name: string; mcpServers?: McpServers | undefined }[];
    },
    opts: McpSourceOptions,
  ) {
    const some = (s: McpServers | undefined): s is McpServers => s !== undefined && Object.keys(s).length > 0;
    this.worker = some(servers.worker)
      ? new McpToolSource("the worker's MCP servers", servers.worker, opts)
      : undefined;
    this.agents = new Map(
      (servers.agents ?? []).flatMap((a) =>
        some(a.mcpServers) ? [[a.name, new McpToolSource(`agent ${a.name}`, a.mcpServers, opts)] as const] : [],
      ),
    );
  }

  private get sources(): McpToolSource[] {
    return [...(this.worker ? [this.worker] : []), ...this.agents.values()];
  }

  /**
   * Connects every server, once however often asked. One that cannot be reached fails the worker's start: a worker that
   * served runs without a server's tools would offer the model another toolset than its peers on
   * the task queue, and record that in the runs' profiles; a supervisor's restart is the retry.
   */
  start(): Promise<void> {
    this.started ??= this.connect();
    return this.started;
  }

  private async connect(): Promise<void> {
    const started = await Promise.allSettled(this.sources.map((s) => s.start()));
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      await this.close();
      throw failed.reason;
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.sources.map((s) => s.close()));
  }
}
