import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { ToolPolicy } from '../../common/options.js';
import type { ToolDefinition, ToolOutput } from '../define.js';
import type { McpCall } from './connection.js';

/** Where a server may find a call's idempotency key, to dedupe a call it is sent twice (`_meta` of tools/call). */
export const IDEMPOTENCY_META_KEY = 'longhaul/idempotencyKey';

/** The server checks the input against its own schema; the worker only needs an object to send. */
const anyObject = z.record(z.string(), z.unknown());

/** The policy an MCP tool has by default: its server's if set, else `approve` for a tool annotated destructive. */
export function mcpToolPolicy(tool: Tool, serverPolicy: ToolPolicy | undefined): ToolPolicy | undefined {
  return serverPolicy ?? (tool.annotations?.destructiveHint === true ? 'approve' : undefined);
}

/**
 * An MCP server's tool as a longhaul tool named `name`: its JSON Schema offered as it is; a tool
 * annotated read-only runs like the read tools (locally, no ledger); every other call carries its
 * idempotency key.
 */
export function mcpToolDefinition(
  name: string,
  server: string,
  tool: Tool,
  opts: { policy?: ToolPolicy | undefined; call: (call: McpCall) => Promise<ToolOutput> },
): ToolDefinition<typeof anyObject> {
  const { $schema: _ignored, ...schema } = tool.inputSchema as Record<string, unknown>;
  const readOnly = tool.annotations?.readOnlyHint === true;
  const policy = mcpToolPolicy(tool, opts.policy);
  return {
    name,
    description: tool.description ?? tool.title ?? tool.annotations?.title ?? `${tool.name} (MCP server ${server})`,
    input: anyObject,
    inputJsonSchema: { ...schema, type: 'object' },
    sideEffectFree: readOnly,
    ...(policy ? { policy } : {}),
    approvalDetail: async (input) => `MCP server ${server}, tool ${tool.name}, input ${JSON.stringify(input)}`,
    run: (input, ctx) =>
      opts.call({
        tool: tool.name,
        arguments: input,
        _meta: { [IDEMPOTENCY_META_KEY]: ctx.idempotencyKey },
        readOnly,
      }),
  };
}
