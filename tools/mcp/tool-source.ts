import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import type { ToolDefinition } from '../define.js';
import type { Toolset } from '../toolset.js';
import { mcpToolDefinition } from './adapter.js';
import { expandServer, type McpServers } from './config.js';
import { McpConnection } from './connection.js';
import { checkMcpToolNames } from './naming.js';

export interface McpSourceOptions {
  /** Where `${VAR}` in env and header values is read: the worker's environment. */
  env: NodeJS.ProcessEnv;
  /** A problem that does not stop the worker (a list that changed into a clash, a lost connection). */
  warn: (message: string) => void;
}

/**
 * The MCP servers of one owner (an agent, or the worker's runs without one), and the toolset they
 * make with the owner's own tools: built again whenever a server's list of tools changes, so that
 * toolsetOf always returns the current one.
 */
export class McpToolSource {
  private readonly connections: McpConnection[];
  /** Each server's latest list, in the order the servers are configured: the offered order stays stable. */
  private readonly lists = new Map<string, Tool[]>();
  private build: ((mcpTools: ToolDefinition[]) => Toolset) | undefined;
  /** The names of the owner's own tools, which no MCP tool may take. */
  private taken: readonly string[] = [];
  private toolset: Toolset | undefined;
  private started = false;

  constructor(
    readonly owner: string,
    servers: McpServers,
    private readonly opts: McpSourceOptions,
  ) {
    // Expanded once, at the worker's start: a variable that is not set fails it here.
    this.connections = Object.entries(servers).map(
      ([name, config]) =>
        new McpConnection(
          name,
          expandServer(name, config, opts.env),
          (server, tools) => this.listed(server, tools),
          opts.warn,
        ),
    );
  }

  /**
   * How the owner's toolset is made from the MCP tools (its own tools first, checked as always);
   * returns the lookup of the current toolset. Before `start`, the toolset has no MCP tools.
   */
  bind(ownTools: readonly ToolDefinition[], build: (mcpTools: ToolDefinition[]) => Toolset): () => Toolset {
    this.build = build;
    this.taken = ownTools.map((t) => t.name);
    const toolset = build([]);
    this.toolset = toolset;
    return () => this.toolset ?? toolset;
  }

  /** Connects every server and lists its tools; throws, naming the server, if one cannot be reached or its tools' names clash. */
  async start(): Promise<void> {
    try {
      await Promise.all(this.connections.map((c) => c.start()));
    } catch (err) {
      await this.close();
      throw err;
    }
    this.toolset = this.assemble(this.lists);
    this.started = true;
  }

  private assemble(lists: ReadonlyMap<string, Tool[]>): Toolset | undefined {
    const byServer = new Map(this.connections.map((c) => [c.server, c]));
    const entries = this.connections.flatMap((c) =>
      (lists.get(c.server) ?? []).map((tool) => ({ server: c.server, tool })),
    );
    const names = checkMcpToolNames(
      this.owner,
      entries.map(({ server, tool }) => ({ server, tool: tool.name })),
      this.taken,
    );
    const definitions = entries.map(({ server, tool }, i) => {
      const connection = byServer.get(server)!;
      return mcpToolDefinition(names[i]!, server, tool, {
        policy: connection.policy,
        call: (call) => connection.call(call),
      });
    });
    return this.build?.(definitions);
  }

  /** A server's new list: the toolset is built again; a list that cannot be offered keeps the previous one. */
  private listed(server: string, tools: Tool[]): void {
    if (!this.started) {
      this.lists.set(server, tools);
      return;
    }
    const lists = new Map(this.lists).set(server, tools);
    try {
      this.toolset = this.assemble(lists);
      this.lists.set(server, tools);
    } catch (err) {
      this.opts.warn(`${(err as Error).message}; the tools offered before the change stay`);
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.connections.map((c) => c.close()));
  }
}
