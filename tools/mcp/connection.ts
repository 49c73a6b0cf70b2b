import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  ErrorCode,
  McpError,
  ToolListChangedNotificationSchema,
  type CallToolResult,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import type { ToolOutput } from '../define.js';
import { DEFAULT_MCP_TIMEOUT_SECONDS, type McpServerConfig } from './config.js';
import { toToolOutput } from './result.js';

export interface McpCall {
  tool: string;
  arguments: Record<string, unknown>;
  _meta: Record<string, unknown>;
  /** Whether the tool says it changes nothing: a call that timed out then cannot have acted. */
  readOnly: boolean;
}

const CLIENT_INFO = { name: 'longhaul', version: '1' };

function transportOf(config: McpServerConfig): Transport {
  if ('url' in config)
    return new StreamableHTTPClientTransport(new URL(config.url), {
      ...(config.headers ? { requestInit: { headers: config.headers } } : {}),
    });
  // The SDK passes the child only a small default environment (PATH, HOME, …) beside `env`: the
  // worker's secrets reach a server only where its config names them.
  return new StdioClientTransport({
    command: config.command,
    ...(config.args ? { args: config.args } : {}),
    ...(config.env ? { env: config.env } : {}),
    ...(config.cwd ? { cwd: config.cwd } : {}),
  });
}

// McpError's code is a plain number: JSON-RPC's, or one of the SDK's own.
const CONNECTION_CLOSED: number = ErrorCode.ConnectionClosed;
const REQUEST_TIMEOUT: number = ErrorCode.RequestTimeout;
/** An answer of the server itself (a JSON-RPC error), not a failure to reach it. */
const isServerAnswer = (err: unknown) =>
  err instanceof McpError && err.code !== CONNECTION_CLOSED && err.code !== REQUEST_TIMEOUT;
const isTimeout = (err: unknown) => err instanceof McpError && err.code === REQUEST_TIMEOUT;

/**
 * One MCP server, connected: its tools, listed again whenever it says they changed; calls with a
 * timeout; and a new connection (a new process, for stdio) when the old one died, with the call
 * that found it dead sent once more.
 */
export class McpConnection {
  private client: Client | undefined;
  private connecting: Promise<Client> | undefined;
  private closed = false;
  /** The listing a list_changed started: a call's result waits for it, so the next model call sees the new list. */
  private listing: Promise<void> = Promise.resolve();
  readonly timeoutMs: number;
  /** The server's default policy for its tools, if its config sets one. */
  readonly policy: McpServerConfig['policy'];

  constructor(
    readonly server: string,
    /** Expanded already (config.ts, expandServer): values from the worker's environment. */
    private readonly config: McpServerConfig,
    /** Told every list of tools the server gives: at connection, after list_changed, after a reconnection. */
    private readonly onTools: (server: string, tools: Tool[]) => void,
    private readonly warn: (message: string) => void,
  ) {
    this.timeoutMs = (config.timeoutSeconds ?? DEFAULT_MCP_TIMEOUT_SECONDS) * 1000;
    this.policy = config.policy;
  }

  /** Connects and lists the tools; throws if the server cannot be reached or answers wrongly. */
  async start(): Promise<void> {
    await this.ready();
  }

  private ready(): Promise<Client> {
    if (this.closed) return Promise.reject(new Error(`MCP server ${this.server} is closed: the worker is stopping`));
    if (this.client) return Promise.resolve(this.client);
    this.connecting ??= this.connect().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  private async connect(): Promise<Client> {
    const client = new Client(CLIENT_INFO, { capabilities: {} });
    // The stdio process exited or the HTTP stream ended: the next call connects again.
    client.onclose = () => {
      if (this.client === client) this.client = undefined;
    };
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
      this.listing = this.listing.then(() =>
        this.list(client).catch((err: Error) =>
          this.warn(`MCP server ${this.server}: could not list its tools after it said they changed: ${err.message}`),
        ),
      );
    });
    try {
      await client.connect(transportOf(this.config), { timeout: this.timeoutMs });
      await this.list(client);
    } catch (err) {
      await client.close().catch(() => undefined);
      throw new Error(`MCP server ${this.server}: cannot connect: ${(err as Error).message}`, { cause: err });
    }
    this.client = client;
    return client;
  }

  /** Every page of tools/list. */
  private async list(client: Client): Promise<void> {
    const tools: Tool[] = [];
    let cursor: string | undefined;
    do {
      const page = await client.listTools(cursor === undefined ? undefined : { cursor }, { timeout: this.timeoutMs });
      tools.push(...page.tools);
      cursor = page.nextCursor;
    } while (cursor !== undefined);
    this.onTools(this.server, tools);
  }

  /** A tools/call as a tool output; every failure is a tool error the model sees. */
  async call(call: McpCall): Promise<ToolOutput> {
    const what = `MCP server ${this.server}, tool ${call.tool}`;
    for (let attempt = 1; ; attempt++) {
      let client: Client;
      try {
        client = await this.ready();
      } catch (err) {
        return { content: `${what}: ${(err as Error).message}`, isError: true };
      }
      try {
        const result = (await client.callTool(
          { name: call.tool, arguments: call.arguments, _meta: call._meta },
          undefined,
          { timeout: this.timeoutMs },
        )) as CallToolResult;
        // A change the server announced while acting (it arrived before the result) is listed first.
        await this.listing;
        return toToolOutput(result);
      } catch (err) {
        if (isTimeout(err)) {
          const acted = call.readOnly ? '' : '; it may have acted before it stopped answering';
          return { content: `${what}: timed out after ${this.timeoutMs / 1000} s${acted}`, isError: true };
        }
        if (isServerAnswer(err)) return { content: `${what}: ${(err as Error).message}`, isError: true };
        // The connection failed under the call: drop it, so that the next attempt connects anew.
        if (this.client === client) this.client = undefined;
        await client.close().catch(() => undefined);
        if (attempt > 1)
          return { content: `${what}: the server is unreachable: ${(err as Error).message}`, isError: true };
        this.warn(`${what}: the connection failed (${(err as Error).message}); connecting again`);
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const client = this.client ?? (await this.connecting?.catch(() => undefined));
    this.client = undefined;
    await client?.close().catch(() => undefined);
  }
}
