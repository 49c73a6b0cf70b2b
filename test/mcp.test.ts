import type { WorkflowHandle } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uncertainEffect } from '../activities/ledger.js';
import { defineTool } from '../tools/define.js';
import { McpToolSource } from '../tools/mcp/tool-source.js';
import { assembleToolset } from '../tools/toolset.js';
import { z } from 'zod';
import { startRun } from '../client/connect.js';
import { escalationQuery, respondUpdate } from '../common/messages.js';
import type { McpServers } from '../tools/mcp/config.js';
import { effects } from './helpers/audit-run.js';
import { useHarness } from './helpers/harness.js';
import { discardWorkflowSpans } from '../worker/telemetry.js';

/**
 * MCP servers as tools, end to end: a real dev server, worker and simulator, and the test's own
 * MCP server (test/fixtures/mcp-server.ts) over stdio (a child of the worker) and over Streamable
 * HTTP (a process of the test's, behind a token the worker reads from its environment).
 */
const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const fixture = join(repoRoot, 'test/fixtures/mcp-server.ts');
const TOKEN = `tok-${randomUUID()}`;

const stdioServer = (countFile: string, crashFile?: string): McpServers[string] => ({
  command: process.execPath,
  args: ['--import', 'tsx', fixture, '--stdio'],
  cwd: repoRoot,
  // Pages of 2: the worker must follow nextCursor to see every tool.
  env: { MCP_COUNT_FILE: countFile, MCP_PAGE_SIZE: '2', ...(crashFile ? { MCP_CRASH_FILE: crashFile } : {}) },
});

/** The fixture over HTTP on a port of its own; resolves with its URL once it listens. */
function startHttpServer(countFile: string, port = 0): Promise<{ url: string; child: ChildProcess }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, '--http', '--port', String(port)], {
      cwd: repoRoot,
      env: { ...process.env, MCP_COUNT_FILE: countFile, MCP_HTTP_TOKEN: TOKEN },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const url = /listening on (\S+)/.exec(output)?.[1];
      if (url) resolve({ url, child });
    });
    child.on('exit', (code) => reject(new Error(`the MCP test server exited with ${code}: ${output}`)));
  });
}

const task = (...calls: [string, unknown][]) =>
  calls.map(([tool, input]) => `MCP task: call ${tool} with ${JSON.stringify(input)}`).join('\n');

const lines = async (file: string) => (await readFile(file, 'utf8').catch(() => '')).split('\n').filter(Boolean);

/** The run's history, payloads decoded: what a replay reads, and where no secret may be. */
async function historyText(handle: WorkflowHandle): Promise<string> {
  const { events } = await handle.fetchHistory();
  return JSON.stringify(events, (_, v: unknown) =>
    v instanceof Uint8Array || (v && typeof v === 'object' && (v as { type?: string }).type === 'Buffer')
      ? Buffer.from(v as Uint8Array).toString('utf8')
      : v,
  );
}

/** What admitRun returned: the run's options as the worker admitted them, recorded in the history. */
async function admitted(handle: WorkflowHandle): Promise<{ toolPolicies: Record<string, string> }> {
  const { events } = await handle.fetchHistory();
  const scheduled = events!.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'admitRun')!;
  const done = events!.find(
    (e) => Number(e.activityTaskCompletedEventAttributes?.scheduledEventId) === Number(scheduled.eventId),
  )!;
  const data = done.activityTaskCompletedEventAttributes!.result!.payloads![0]!.data!;
  return JSON.parse(Buffer.from(data).toString('utf8')) as { toolPolicies: Record<string, string> };
}

describe('MCP servers as tools', () => {
  const h = useHarness();
  let http: { url: string; child: ChildProcess };
  let countFile: string;
  let worker: Worker;
  let running: Promise<void>;

  beforeAll(async () => {
    countFile = join(h.dir, 'count.log');
    http = await startHttpServer(countFile);
    // The worker reads the token from its own environment: the config only names it.
    process.env.MCP_TEST_TOKEN = TOKEN;
    worker = await h.startWorker({
      mcpServers: {
        fx: stdioServer(countFile, join(h.dir, 'crashed.pid')),
        web: { url: http.url, headers: { Authorization: 'Bearer ${MCP_TEST_TOKEN}' }, timeoutSeconds: 2 },
      },
    });
    running = worker.run();
  });
  afterAll(async () => {
    worker?.shutdown();
    await running;
    http?.child.kill('SIGKILL');
  });

  async function run(text: string, taskQueue = h.taskQueue) {
    const workflowId = `mcp-${randomUUID().slice(0, 8)}`;
    const workspace = join(h.dir, workflowId);
    await mkdir(workspace, { recursive: true });
    const handle = await startRun(h.env.client, { task: text, workspace }, { taskQueue, workflowId });
    return { handle, workflowId };
  }

  it('a run calls tools of a stdio server and of a Streamable HTTP server; errors, a restart and a list change reach the model', async () => {
    const before = (await lines(countFile)).length;
    const { handle, workflowId } = await run(
      task(
        ['fx__lookup', { key: 'beta' }],
        ['fx__env_var', { name: 'MCP_TEST_TOKEN' }],
        ['fx__env_var', { name: 'MCP_COUNT_FILE' }],
        ['fx__increment', {}],
        ['fx__fail', {}],
        ['fx__crash_once', {}],
        ['fx__add_tool', {}],
        ['fx__greet', { name: 'Ada' }],
        ['web__lookup', { key: 'gamma' }],
        ['web__increment', {}],
      ),
    );
    const result = await handle.result();
    expect(result.status).toBe('completed');
    const report = result.report!.split('\n');
    const crashedPid = (await readFile(join(h.dir, 'crashed.pid'), 'utf8')).trim();
    expect(report.slice(0, -1)).toEqual([
      'fx__lookup said: beta = 2',
      // The worker's environment holds the token; a stdio server gets only the SDK's defaults and its own env.
      'fx__env_var said: MCP_TEST_TOKEN is not set',
      'fx__env_var said: MCP_COUNT_FILE is set',
      `fx__increment said: count is ${before + 1}`,
      'fx__fail failed: the fixture failed on purpose',
      // The server exited under the call: started again, and the call sent once more.
      expect.stringMatching(/^fx__crash_once said: answered by process \d+$/),
      'fx__add_tool said: added greet',
      'fx__greet said: hello, Ada',
      'web__lookup said: gamma = 3',
      `web__increment said: count is ${before + 2}`,
    ]);
    expect(report[5]).not.toContain(`process ${crashedPid}`);
    // The list changed at runtime: the next request offered the new tool.
    expect(report.at(-1)).toMatch(/^offered: .*fx__greet/);

    // Each side-effecting call reached its server once, with its idempotency key; only those are in the ledger's journal.
    const keys = (await lines(countFile)).slice(before);
    expect(keys).toHaveLength(2);
    expect(keys.every((k) => k.startsWith(`${workflowId}/`))).toBe(true);
    const journal = (await effects(h)).filter((l) => l.startsWith(`${workflowId}/`)).map((l) => l.split(' ')[1]);
    expect(journal).toEqual(['fx__increment', 'fx__fail', 'fx__crash_once', 'fx__add_tool', 'web__increment']);

    // The profile recorded in history names the MCP tools offered: a replay needs no server.
    const { toolPolicies } = await admitted(handle);
    expect(Object.keys(toolPolicies)).toEqual(
      expect.arrayContaining(['fx__lookup', 'fx__increment', 'fx__hang', 'fx__wipe', 'web__lookup', 'web__hang']),
    );
    // The token went to the server in a header, and nowhere into the run.
    expect(await historyText(handle)).not.toContain(TOKEN);
    // A replay runs no activity, so it reaches no server: it only needs the history.
    await Worker.runReplayHistory(
      { workflowBundle: { codePath: process.env.LONGHAUL_WORKFLOW_BUNDLE! }, sinks: discardWorkflowSpans },
      await handle.fetchHistory(),
      workflowId,
    );
  });

  it('a tool annotated destructive is held for a person, who sees the server, the tool and its input', async () => {
    const { handle } = await run(task(['fx__wipe', { scope: 'all' }], ['fx__lookup', { key: 'alpha' }]));
    let open = await handle.query(escalationQuery);
    while (!open) {
      await sleep(100);
      open = await handle.query(escalationQuery);
    }
    expect(open).toMatchObject({
      kind: 'tool_approval',
      question: expect.stringMatching(/\nMCP server fx, tool wipe, input \{"scope":"all"\}$/),
      heldToolCall: { name: 'fx__wipe', input: { scope: 'all' } },
    });
    // Its own default (destructiveHint), admitted as the run's policy: the worker names it nowhere.
    expect((await admitted(handle)).toolPolicies).toMatchObject({ fx__wipe: 'approve', fx__lookup: 'allow' });
    await handle.executeUpdate(respondUpdate, { args: [{ escalationId: open.id, decision: 'approve' }] });
    const result = await handle.result();
    expect(result.report!.split('\n').slice(0, 2)).toEqual(['fx__wipe said: wiped', 'fx__lookup said: alpha = 1']);
  });

  it('a call that hangs is a tool error saying it timed out, and that it may have acted', async () => {
    const { handle } = await run(task(['web__hang', {}], ['web__lookup', { key: 'alpha' }]));
    const result = await handle.result();
    expect(result.report!.split('\n').slice(0, 2)).toEqual([
      'web__hang failed: MCP server web, tool hang: timed out after 2 s; it may have acted before it stopped answering',
      'web__lookup said: alpha = 1',
    ]);
  });

  it('a Streamable HTTP server that was restarted (its sessions gone) is connected again, and the call sent', async () => {
    const { port } = new URL(http.url);
    http.child.kill('SIGKILL');
    await new Promise((r) =>
      http.child.exitCode !== null || http.child.signalCode !== null ? r(undefined) : http.child.once('exit', r),
    );
    http = await startHttpServer(countFile, Number(port));
    const { handle } = await run(task(['web__lookup', { key: 'beta' }]));
    expect((await handle.result()).report!.split('\n')[0]).toBe('web__lookup said: beta = 2');
  });

  it('a worker whose MCP server cannot be reached, or whose config names an unset variable, does not start', async () => {
    const unreachable = { LONGHAUL_MCP_SERVERS: JSON.stringify({ gone: { command: join(h.dir, 'no-such-server') } }) };
    await expect(h.spawnWorker(`${h.taskQueue}-gone`, unreachable)).rejects.toThrow(
      /MCP server gone: cannot connect: spawn \S*no-such-server ENOENT/,
    );
    const unset = {
      LONGHAUL_MCP_SERVERS: JSON.stringify({
        web: { url: http.url, headers: { Authorization: 'Bearer ${MCP_UNSET_TOKEN}' } },
      }),
    };
    await expect(h.spawnWorker(`${h.taskQueue}-unset`, unset)).rejects.toThrow(
      'MCP server web: headers.Authorization names ${MCP_UNSET_TOKEN}, which is not set',
    );
  });

  it('a side-effecting MCP tool acts once across a SIGKILL of the worker in the middle of its call', async () => {
    const queue = `${h.taskQueue}-killed`;
    const killedCount = join(h.dir, 'killed-count.log');
    const env = { LONGHAUL_MCP_SERVERS: JSON.stringify({ fx: stdioServer(killedCount) }) };
    const first = await h.spawnWorker(queue, env);
    const { handle, workflowId } = await run(
      task(['fx__increment', { delay_ms: 60_000 }], ['fx__lookup', { key: 'alpha' }]),
      queue,
    );
    // The server has counted the call and is still in it: the worker dies before it hears back.
    while ((await lines(killedCount)).length === 0) await sleep(50);
    first.kill('SIGKILL');
    await new Promise((r) =>
      first.exitCode !== null || first.signalCode !== null ? r(undefined) : first.once('exit', r),
    );
    const second = await h.spawnWorker(queue, env);
    const result = await handle.result();
    second.kill('SIGTERM');

    expect(result.status).toBe('completed');
    // The retry found the intent without a result and did not call the server again: the model is told.
    expect(result.report!.split('\n').slice(0, 2)).toEqual([
      `fx__increment failed: ${uncertainEffect('fx__increment')}`,
      'fx__lookup said: alpha = 1',
    ]);
    const calls = await lines(killedCount);
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatch(new RegExp(`^${workflowId}/`));
  });
});

describe("an owner's MCP tools, outside a worker", () => {
  it('a list that changes into a name clash is logged, and the tools offered before stay', async () => {
    const warnings: string[] = [];
    const source = new McpToolSource(
      'agent a',
      { fx: stdioServer('/dev/null') },
      {
        env: process.env,
        warn: (m) => void warnings.push(m),
      },
    );
    // The agent's own tool has the name the server's runtime tool will be offered under.
    const own = defineTool({
      name: 'fx__greet',
      description: "The agent's own greeting.",
      input: z.object({}),
      sideEffectFree: true,
      run: async () => ({ content: 'own' }),
    });
    const current = source.bind([own], (mcp) => assembleToolset('agent a', [own, ...mcp]));
    await source.start();
    try {
      const before = [...current().registry.keys()];
      expect(before).toEqual(expect.arrayContaining(['fx__greet', 'fx__lookup', 'fx__add_tool']));
      const added = await current().registry.get('fx__add_tool')!.run({}, { workspace: '/', idempotencyKey: 'k' });
      expect(added).toEqual({ content: 'added greet' });
      expect(warnings).toEqual([
        `agent a: MCP server fx's tool "greet" and tool fx__greet would both be offered as fx__greet; the tools offered before the change stay`,
      ]);
      expect([...current().registry.keys()]).toEqual(before);
      expect(await current().registry.get('fx__greet')!.run({}, { workspace: '/', idempotencyKey: 'k' })).toEqual({
        content: 'own',
      });
    } finally {
      await source.close();
    }
  });
});
