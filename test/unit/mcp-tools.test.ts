import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { toToolSchema } from '../../tools/define.js';
import { IDEMPOTENCY_META_KEY, mcpToolDefinition } from '../../tools/mcp/adapter.js';
import type { McpCall } from '../../tools/mcp/connection.js';
import { checkMcpToolNames, mcpToolName } from '../../tools/mcp/naming.js';
import { toToolOutput } from '../../tools/mcp/result.js';

describe('MCP tool names', () => {
  it('are <server>__<tool>', () => {
    expect(mcpToolName('tickets', 'create')).toBe('tickets__create');
    expect(
      checkMcpToolNames('agent a', [
        { server: 'tickets', tool: 'create' },
        { server: 'files', tool: 'read-1' },
      ]),
    ).toEqual(['tickets__create', 'files__read-1']);
  });

  it('that would be too long or hold other characters are an error naming the server and tool', () => {
    expect(() => checkMcpToolNames('agent a', [{ server: 's', tool: 'x'.repeat(62) }])).toThrow(
      /^agent a: MCP server s's tool "x+" would be offered as "s__x+", which is not a valid tool name/,
    );
    expect(() => checkMcpToolNames('agent a', [{ server: 's', tool: 'read.file' }])).toThrow(
      /"s__read.file", which is not a valid/,
    );
  });

  it('that clash are an error naming both tools', () => {
    expect(() =>
      checkMcpToolNames('agent a', [
        { server: 's', tool: 'a' },
        { server: 's', tool: 'a' },
      ]),
    ).toThrow(`agent a: MCP server s's tool "a" and MCP server s's tool "a" would both be offered as s__a`);
    expect(() => checkMcpToolNames("the worker's MCP servers", [{ server: 'x', tool: 'y' }], ['x__y'])).toThrow(
      `the worker's MCP servers: MCP server x's tool "y" and tool x__y would both be offered as x__y`,
    );
  });
});

describe('an MCP tool as a longhaul tool', () => {
  const tool = (annotations: Tool['annotations'] = {}): Tool => ({
    name: 'create',
    description: 'Creates a ticket.',
    inputSchema: {
      $schema: 'http://json-schema.org/draft-07/schema#',
      type: 'object',
      properties: { title: { type: 'string', minLength: 1 } },
      required: ['title'],
    },
    annotations,
  });
  const calls: McpCall[] = [];
  const define = (t: Tool, policy?: 'allow' | 'deny') =>
    mcpToolDefinition('tickets__create', 'tickets', t, {
      policy,
      call: async (call) => {
        calls.push(call);
        return { content: 'ok' };
      },
    });

  it("offers the server's JSON Schema as it is (without $schema), and takes any object", () => {
    const def = define(tool());
    expect(toToolSchema(def)).toEqual({
      name: 'tickets__create',
      description: 'Creates a ticket.',
      input_schema: { type: 'object', properties: { title: { type: 'string', minLength: 1 } }, required: ['title'] },
    });
    expect(def.input.safeParse({ anything: [1] }).success).toBe(true);
    expect(def.input.safeParse('text').success).toBe(false);
  });

  it('readOnlyHint runs locally with no ledger; destructiveHint defaults to approve; the server may set its policy', () => {
    expect(define(tool({ readOnlyHint: true }))).toMatchObject({ sideEffectFree: true });
    expect(define(tool()).sideEffectFree).toBe(false);
    expect(define(tool()).policy).toBeUndefined();
    expect(define(tool({ destructiveHint: true })).policy).toBe('approve');
    expect(define(tool({ destructiveHint: true }), 'deny').policy).toBe('deny');
  });

  it('sends the call with its idempotency key in _meta, and shows a person the server, tool and input', async () => {
    const def = define(tool());
    await def.run({ title: 'x' }, { workspace: '/w', idempotencyKey: 'wf/chain/3/0/abc' });
    expect(calls.at(-1)).toEqual({
      tool: 'create',
      arguments: { title: 'x' },
      _meta: { [IDEMPOTENCY_META_KEY]: 'wf/chain/3/0/abc' },
      readOnly: false,
    });
    expect(await def.approvalDetail?.({ title: 'x' }, { workspace: '/w' })).toBe(
      'MCP server tickets, tool create, input {"title":"x"}',
    );
  });
});

describe('a tools/call result as a tool output', () => {
  it('joins text content, and summarizes other content in one line each', () => {
    expect(
      toToolOutput({
        content: [
          { type: 'text', text: 'first' },
          { type: 'image', data: 'aGVsbG8=', mimeType: 'image/png' },
          { type: 'audio', data: 'aGk=', mimeType: 'audio/wav' },
          { type: 'resource_link', uri: 'file:///a.txt', name: 'a', mimeType: 'text/plain' },
          { type: 'resource', resource: { uri: 'file:///b.txt', text: 'inline text' } },
          { type: 'resource', resource: { uri: 'file:///c.bin', blob: 'AAAA', mimeType: 'application/octet-stream' } },
        ],
      }),
    ).toEqual({
      content: [
        'first',
        '[image: image/png, 5 bytes]',
        '[audio: audio/wav, 2 bytes]',
        '[resource link: file:///a.txt, text/plain]',
        'inline text',
        '[resource: file:///c.bin, application/octet-stream, 3 bytes]',
      ].join('\n'),
    });
  });

  it('shows structured content as JSON when no block is text', () => {
    expect(toToolOutput({ content: [], structuredContent: { count: 3 } })).toEqual({ content: '{"count":3}' });
    expect(toToolOutput({ content: [{ type: 'text', text: '3' }], structuredContent: { count: 3 } })).toEqual({
      content: '3',
    });
    expect(toToolOutput({ content: [] })).toEqual({ content: '(the tool returned no content)' });
  });

  it('an isError result is a tool error the model sees', () => {
    expect(toToolOutput({ content: [{ type: 'text', text: 'no such ticket' }], isError: true })).toEqual({
      content: 'no such ticket',
      isError: true,
    });
  });
});
