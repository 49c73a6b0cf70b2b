import Anthropic from '@anthropic-ai/sdk';
import type { WorkflowHandle } from '@temporalio/client';
import { createServer, type Server } from 'node:http';
import { mkdir, readFile, stat } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { awaitResult } from '../client/export.js';
import { startRun } from '../client/connect.js';
import { MAX_INPUT_DEPTH } from '../common/input-bounds.js';
import type { AgentRunWorkflow } from '../common/messages.js';
import { progressQuery } from '../common/messages.js';
import type { RunOptionsInput } from '../common/options.js';
import { cli } from './helpers/cli.js';
import { useHarness } from './helpers/harness.js';
import { testWorker } from './helpers/test-worker.js';

/** The blob limits longhaul ships (deploy/temporal-dynamic-config.yaml), so that these runs meet them. */
async function shippedBlobLimits(): Promise<Record<string, number>> {
  const yaml = await readFile(
    fileURLToPath(new URL('../deploy/temporal-dynamic-config.yaml', import.meta.url)),
    'utf8',
  );
  const limits: Record<string, number> = {};
  for (const [, key, value] of yaml.matchAll(/^(limit\.blobSize\.\w+):\s*\n\s*-\s*value:\s*(\d+)/gm))
    limits[key!] = Number(value);
  return limits;
}
const limits = await shippedBlobLimits();

const h = useHarness({ worker: {}, dynamicConfig: limits });
type Handle = WorkflowHandle<AgentRunWorkflow>;
let seq = 0;

async function start(task: string, extra: Partial<RunOptionsInput> = {}, taskQueue = h.taskQueue) {
  const workspace = join(h.dir, `ws-${++seq}`);
  await mkdir(workspace, { recursive: true });
  const handle: Handle = await startRun(
    h.env.client,
    { task, workspace, model: 'sim', ...extra },
    { taskQueue, workflowId: `bounds-${seq}-${Date.now()}` },
  );
  return { handle, workspace };
}

describe('bounds, end to end', () => {
  it('ships a server blob limit far below the default (1 MiB error)', () => {
    expect(limits).toEqual({ 'limit.blobSize.error': 1024 * 1024, 'limit.blobSize.warn': 256 * 1024 });
  });

  it('four 1 MiB write_file calls in one reply run: their inputs go to the store, not the model call result', async () => {
    const { handle, workspace } = await start('[sim:big-writes 4 1048576]', { toolPolicies: { write_file: 'allow' } });
    const result = await awaitResult(handle);
    expect(result).toMatchObject({ status: 'completed' });
    expect(result.report!.split(' | ')).toHaveLength(4);
    expect(result.report).not.toContain('error');
    for (let i = 0; i < 4; i++) {
      expect((await stat(join(workspace, `big-${i}.txt`))).size).toBe(1024 * 1024);
    }
    // Every payload of the run's history stayed far below the blob limit.
    const events = (await handle.fetchHistory()).events ?? [];
    const largest = Math.max(
      ...events.map((e) => JSON.stringify(e).length), // base64 of payloads: 4/3 of their bytes
    );
    expect(largest).toBeLessThan(256 * 1024);
  });

  it('an approval of write_file with content first shows the path first: in the question and in `longhaul pending`; --json holds the whole input', async () => {
    const input = { content: `${'[core]\\n\\tfsmonitor = evil\\n'.repeat(40)}`, path: 'notes/config.txt' };
    const { handle } = await start(`[sim:call write_file] ${JSON.stringify(input)}`);
    let question = '';
    for (let i = 0; i < 200 && !question; i++) {
      question = (await handle.query(progressQuery)).escalation?.question ?? '';
      if (!question) await new Promise((r) => setTimeout(r, 100));
    }
    expect(question.startsWith('Approve write_file path="notes/config.txt" content="[core]')).toBe(true);
    const table = await cli(h.env.address, h.taskQueue, ['pending']);
    const row = table.stdout.split('\n').find((line) => line.startsWith(handle.workflowId));
    expect(row).toContain('Approve write_file path="notes/config.txt"');
    const json = await cli(h.env.address, h.taskQueue, ['pending', '--json']);
    const mine = (
      JSON.parse(json.stdout) as { runId: string; escalation: { heldToolCall: { input: unknown } } }[]
    ).find((p) => p.runId === handle.workflowId);
    expect(mine!.escalation.heldToolCall.input).toEqual(input);
    await cli(h.env.address, h.taskQueue, ['deny', handle.workflowId, '--message', 'no']);
    expect((await awaitResult(handle)).status).toBe('completed');
  });

  it('a held call whose input went to the store: the escalation carries a reference, `longhaul held` prints the whole input', async () => {
    const { handle, workspace } = await start('[sim:big-writes 1 20000]');
    let held: { input: unknown; inputRef?: string } | undefined;
    for (let i = 0; i < 200 && !held; i++) {
      held = (await handle.query(progressQuery)).escalation?.heldToolCall;
      if (!held) await new Promise((r) => setTimeout(r, 100));
    }
    expect(held).toMatchObject({ input: {}, inputRef: expect.stringMatching(/^sha256:/) });
    const shown = await cli(h.env.address, h.taskQueue, ['held', handle.workflowId], {
      LONGHAUL_STORE_DIR: h.storeDir,
    });
    expect(shown.code).toBe(0);
    const call = JSON.parse(shown.stdout) as {
      name: string;
      display: string;
      input: { path: string; content: string };
    };
    expect(call).toMatchObject({ name: 'write_file', input: { path: 'big-0.txt', content: 'a'.repeat(20_000) } });
    expect(call.display.startsWith('write_file path="big-0.txt" content="aaa')).toBe(true);
    await cli(h.env.address, h.taskQueue, ['approve', handle.workflowId]);
    expect((await awaitResult(handle)).status).toBe('completed');
    expect((await stat(join(workspace, 'big-0.txt'))).size).toBe(20_000);
  });
});

/**
 * A model server that answers the first request with one tool call whose input is nested
 * 100,000 deep (sent as raw JSON: nothing here can stringify it), and every later one with
 * finish quoting the tool result it was given.
 */
function deepModelServer(): Promise<{ server: Server; url: string; requests: unknown[] }> {
  const requests: unknown[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const request = JSON.parse(body) as { messages: { role: string; content: unknown }[] };
      requests.push(request);
      const first = requests.length === 1;
      const last = request.messages.at(-1)!.content as { type: string; content?: string }[];
      const result = Array.isArray(last) ? last.find((b) => b.type === 'tool_result') : undefined;
      const name = first ? 'write_file' : 'finish';
      const json = first
        ? `${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`
        : JSON.stringify({ report: `told: ${result?.content ?? 'nothing'}` });
      const frame = (event: string, data: object) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
      const message = {
        id: `msg_${requests.length}`,
        type: 'message',
        role: 'assistant',
        model: 'deep',
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: 10, output_tokens: 0 },
      };
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(frame('message_start', { type: 'message_start', message }));
      res.write(
        frame('content_block_start', {
          type: 'content_block_start',
          index: 0,
          content_block: { type: 'tool_use', id: `toolu_${requests.length}`, name, input: {} },
        }),
      );
      res.write(
        `event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":${JSON.stringify(json)}}}\n\n`,
      );
      res.write(frame('content_block_stop', { type: 'content_block_stop', index: 0 }));
      res.write(
        frame('message_delta', {
          type: 'message_delta',
          delta: { stop_reason: 'tool_use', stop_sequence: null },
          usage: { output_tokens: 5 },
        }),
      );
      res.end(frame('message_stop', { type: 'message_stop' }));
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests }),
    ),
  );
}

describe('a tool input nested 100,000 deep', () => {
  let closeServer: (() => void) | undefined;
  afterAll(() => closeServer?.());

  it('is one tool error naming the limit, with no model call retried', async () => {
    const model = await deepModelServer();
    closeServer = () => model.server.close();
    const taskQueue = `${h.taskQueue}-deep`;
    const worker = await testWorker(
      { connection: h.env.nativeConnection, taskQueue, storeDir: h.storeDir, simulatorUrl: model.url },
      { anthropic: new Anthropic({ apiKey: 'unused', baseURL: model.url, maxRetries: 0 }) },
    );
    const running = worker.run();
    try {
      const { handle } = await start('anything', { toolPolicies: { write_file: 'allow' } }, taskQueue);
      const result = await awaitResult(handle);
      expect(result).toMatchObject({ status: 'completed', counters: { modelCalls: 2, toolErrors: 1 } });
      expect(result.report).toBe(
        `told: write_file was not run: its input is nested deeper than ${MAX_INPUT_DEPTH} levels, the limit; send a flatter input`,
      );
      // Two requests, no retry; the transcript the model is sent holds the call with its input replaced.
      expect(model.requests).toHaveLength(2);
      const sent = model.requests[1] as { messages: { role: string; content: { type: string; input?: unknown }[] }[] };
      const assistant = sent.messages.find((m) => m.role === 'assistant')!;
      expect(assistant.content.find((b) => b.type === 'tool_use')!.input).toEqual({});
    } finally {
      worker.shutdown();
      await running;
    }
  });
});
