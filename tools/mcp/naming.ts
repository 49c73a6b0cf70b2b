import { ConfigError } from '../../common/errors.js';

/** The Messages API's pattern for a tool's name. */
export const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

/** The name the model calls an MCP tool by: the server's name, two underscores, the tool's. */
export const mcpToolName = (server: string, tool: string) => `${server}__${tool}`;

/**
 * The offered names of one owner's MCP tools, checked: each valid for the Messages API, none twice
 * (an error naming both tools); `taken` are the names the owner's other tools already have.
 */
export function checkMcpToolNames(
  owner: string,
  tools: readonly { server: string; tool: string }[],
  taken: readonly string[] = [],
): string[] {
  const seen = new Map<string, string>(taken.map((name) => [name, `tool ${name}`]));
  return tools.map(({ server, tool }) => {
    const name = mcpToolName(server, tool);
    const what = `MCP server ${server}'s tool ${JSON.stringify(tool)}`;
    if (!TOOL_NAME.test(name))
      throw new ConfigError(
        `${owner}: ${what} would be offered as ${JSON.stringify(name)}, which is not a valid tool name (letters, digits, _ and -, at most 64)`,
      );
    const other = seen.get(name);
    if (other) throw new ConfigError(`${owner}: ${what} and ${other} would both be offered as ${name}`);
    seen.set(name, what);
    return name;
  });
}
