import { z } from 'zod';
import { ConfigError } from '../../common/errors.js';
import { describeZodError, ToolPolicy } from '../../common/options.js';

/**
 * The longest a call to an MCP tool may take: under the 2 minutes of a local activity
 * (workflows/activities.ts, runToolLocally), where read-only tools run, with room for one
 * reconnection; runTool's own 5 minutes are longer still.
 */
export const MAX_MCP_TIMEOUT_SECONDS = 100;
export const DEFAULT_MCP_TIMEOUT_SECONDS = 30;

/** A server name becomes the prefix of its tools' names (`<server>__<tool>`). */
export const MCP_SERVER_NAME = /^[A-Za-z0-9][A-Za-z0-9-]{0,31}$/;

const common = {
  /** How long one call may take before it is a tool error saying it timed out. */
  timeoutSeconds: z.number().int().min(1).max(MAX_MCP_TIMEOUT_SECONDS).optional(),
  /** The default policy of every tool of the server, over what the tools' annotations say. */
  policy: ToolPolicy.optional(),
};

/** A server the worker starts as a child process and talks to over its stdin and stdout. */
const StdioServer = z
  .object({
    command: z.string().min(1),
    args: z.array(z.string()).optional(),
    /** Beside the SDK's small safe default (PATH, HOME, …): values may say `${VAR}`, from the worker's environment. */
    env: z.record(z.string(), z.string()).optional(),
    cwd: z.string().min(1).optional(),
    ...common,
  })
  .strict();

/** A server reached over Streamable HTTP. */
const HttpServer = z
  .object({
    url: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }),
    /** Values may say `${VAR}`, from the worker's environment (`Authorization: Bearer ${TOKEN}`). */
    headers: z.record(z.string(), z.string()).optional(),
    ...common,
  })
  .strict();

export const McpServerConfig = z.union([StdioServer, HttpServer], {
  error: 'expected { command, args?, env?, cwd? } (stdio) or { url, headers? } (Streamable HTTP)',
});
export type McpServerConfig = z.infer<typeof McpServerConfig>;
export const McpServers = z.record(z.string(), McpServerConfig);
export type McpServers = z.infer<typeof McpServers>;

const VARIABLE = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/**
 * The config with every `${VAR}` in env and header values replaced from the worker's environment.
 * Only names appear in errors, never values: the values are often credentials.
 */
export function expandServer(server: string, config: McpServerConfig, env: NodeJS.ProcessEnv): McpServerConfig {
  const expand = (field: string, values: Record<string, string> | undefined) =>
    values &&
    Object.fromEntries(
      Object.entries(values).map(([key, value]) => [
        key,
        value.replace(VARIABLE, (_, name: string) => {
          const found = env[name];
          if (found === undefined)
            throw new ConfigError(`MCP server ${server}: ${field}.${key} names \${${name}}, which is not set`);
          return found;
        }),
      ]),
    );
  if ('url' in config) return { ...config, ...(config.headers ? { headers: expand('headers', config.headers) } : {}) };
  return { ...config, ...(config.env ? { env: expand('env', config.env) } : {}) };
}

/** Checks a set of servers where it is written (an agent, the worker's option, LONGHAUL_MCP_SERVERS). */
export function parseMcpServers(owner: string, value: unknown): McpServers {
  const parsed = McpServers.safeParse(value);
  if (!parsed.success) throw new ConfigError(`${owner}: MCP servers: ${describeZodError(parsed.error)}`);
  for (const name of Object.keys(parsed.data)) {
    if (!MCP_SERVER_NAME.test(name))
      throw new ConfigError(
        `${owner}: MCP server name ${JSON.stringify(name)}: use letters, digits and - (at most 32), it prefixes its tools' names`,
      );
  }
  return parsed.data;
}

/** `LONGHAUL_MCP_SERVERS`: a JSON object `{ "name": config }`, already read from the variable or its file. */
export function readMcpServersJson(text: string): McpServers {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`LONGHAUL_MCP_SERVERS: not JSON (${(err as Error).message})`);
  }
  return parseMcpServers('LONGHAUL_MCP_SERVERS', json);
}
