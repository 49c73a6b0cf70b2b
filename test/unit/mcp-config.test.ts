import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { inlineOrFile } from '../../config/inline-or-file.js';
import { readEnv } from '../../config/env.js';
import { ConfigError } from '../../common/errors.js';
import { defineAgent, agentDefaults } from '../../agents/define.js';
import { createPlugin } from '../../worker/from-env.js';
import { expandServer, parseMcpServers, readMcpServersJson } from '../../tools/mcp/config.js';

describe('MCP server config', () => {
  it('takes a stdio server and a Streamable HTTP server, with timeouts and policies', () => {
    const servers = readMcpServersJson(
      JSON.stringify({
        files: {
          command: 'node',
          args: ['server.js'],
          env: { TOKEN: '${FILES_TOKEN}' },
          cwd: '/srv',
          timeoutSeconds: 10,
        },
        tickets: {
          url: 'http://127.0.0.1:8080/mcp',
          headers: { Authorization: 'Bearer ${TICKETS_TOKEN}' },
          policy: 'approve',
        },
      }),
    );
    expect(Object.keys(servers)).toEqual(['files', 'tickets']);
    expect(servers.tickets).toMatchObject({ policy: 'approve' });
  });

  it.each([
    [{ s: { command: 'x', url: 'http://a' } }, /MCP servers: s: expected \{ command/],
    [{ s: { url: 'ftp://a/b' } }, /MCP servers: s.url: must be an http:\/\/ or https:\/\/ URL$/],
    [
      { s: { command: 'x', timeoutSeconds: 1000 } },
      /MCP servers: s.timeoutSeconds: Too big: expected number to be <=100$/,
    ],
    [{ bad_name: { command: 'x' } }, /MCP server name "bad_name": use letters, digits and -/],
    [[1], /MCP servers: input: /],
  ])('refuses %j with one line naming what is wrong', (value, message) => {
    expect(() => parseMcpServers('LONGHAUL_MCP_SERVERS', value)).toThrow(message);
    expect(() => parseMcpServers('LONGHAUL_MCP_SERVERS', value)).toThrow(ConfigError);
  });

  it('refuses what is not JSON', () => {
    expect(() => readMcpServersJson('{ nope')).toThrow(/^LONGHAUL_MCP_SERVERS: not JSON/);
  });

  it("expands ${VAR} in env and header values from the worker's environment, and nothing else", () => {
    const env = { FILES_TOKEN: 's3cret', HOST: 'h' };
    expect(
      expandServer('files', { command: 'run ${HOST}', env: { TOKEN: 'x-${FILES_TOKEN}-y', PLAIN: '$HOST' } }, env),
    ).toEqual({
      command: 'run ${HOST}',
      env: { TOKEN: 'x-s3cret-y', PLAIN: '$HOST' },
    });
    expect(
      expandServer('t', { url: 'http://a/mcp', headers: { Authorization: 'Bearer ${FILES_TOKEN}' } }, env),
    ).toEqual({
      url: 'http://a/mcp',
      headers: { Authorization: 'Bearer s3cret' },
    });
  });

  it('a variable that is not set is a ConfigError naming the server and the variable, without any value', () => {
    const expand = () =>
      expandServer(
        'tickets',
        { url: 'http://a/mcp', headers: { Authorization: 'Bearer ${TICKETS_TOKEN}', X: 'known' } },
        {},
      );
    expect(expand).toThrow(ConfigError);
    expect(expand).toThrow('MCP server tickets: headers.Authorization names ${TICKETS_TOKEN}, which is not set');
  });

  it('LONGHAUL_MCP_SERVERS is read inline or from the file it names', async () => {
    const inline = '{"a": {"command": "x"}}';
    expect(readEnv({ LONGHAUL_MCP_SERVERS: inline }).LONGHAUL_MCP_SERVERS).toBe(inline);
    expect(inlineOrFile('LONGHAUL_MCP_SERVERS', inline)).toEqual({ text: inline, inline: true });
    const dir = await mkdtemp(join(tmpdir(), 'mcp-config-'));
    await writeFile(join(dir, 'mcp.json'), inline);
    expect(inlineOrFile('LONGHAUL_MCP_SERVERS', join(dir, 'mcp.json'))).toEqual({ text: inline, inline: false });
    expect(() => inlineOrFile('LONGHAUL_MCP_SERVERS', join(dir, 'none.json'))).toThrow(
      `LONGHAUL_MCP_SERVERS=${JSON.stringify(join(dir, 'none.json'))}: cannot read it (ENOENT)`,
    );
  });

  it("an agent's servers are checked where it is defined and never part of the defaults a run records", () => {
    expect(() => defineAgent({ name: 'a', systemPrompt: 'p', tools: [], mcpServers: { s: { command: '' } } })).toThrow(
      /^agent a: MCP servers: s.command: Too small/,
    );
    const agent = defineAgent({
      name: 'b',
      systemPrompt: 'p',
      tools: [],
      mcpServers: { s: { command: 'x', env: { TOKEN: '${T}' } } },
    });
    expect(agentDefaults(agent)).toEqual({ systemPrompt: 'p' });
  });

  it("createWorker's and createPlugin's env is where ${VAR} is read, not only process.env", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mcp-env-'));
    const env = {
      LONGHAUL_STORE_DIR: join(dir, 'store'),
      ANTHROPIC_BASE_URL: 'http://127.0.0.1:9',
      LONGHAUL_MCP_SERVERS: JSON.stringify({
        t: { url: 'http://127.0.0.1:9/mcp', headers: { A: '${MCP_ENV_ONLY_TOKEN}' } },
      }),
    };
    await expect(createPlugin({ env })).rejects.toThrow(
      'MCP server t: headers.A names ${MCP_ENV_ONLY_TOKEN}, which is not set',
    );
    const made = await createPlugin({ env: { ...env, MCP_ENV_ONLY_TOKEN: 'x' } });
    await made.close();
  });
});
