import Anthropic from '@anthropic-ai/sdk';
import type { WorkflowHandle } from '@temporalio/client';
import { createServer, type Server } from 'node:http';
import { mkdir, readFile, stat } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
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
    { task, workspace, ...extra },
    { taskQueue, workflowId: `bounds-${seq}-${Date.now()}` },
  );
  return { handle, workspace };
}

describe('bounds, end to end', () => {
  it('ships a server blob limit far below the default (1 MiB error)', () => {
    expect(limits).toEqual({ 'limit.blobSize.error': 1024 * 1024, 'limit.blobSize.warn': 256 * 1024 });
  });

  it('four 60,000-character write_file calls in one reply (as much as 64K output tokens hold) run: their inputs go to the store, not the model call result', async () => {
    // 240,000 characters of inputs: 320 KB as base64, above the 256 KiB bound below were they in the history.
    const { handle, workspace } = await start('[sim:big-writes 4 60000]', {
      toolPolicies: { write_file: 'allow' },
      maxOutputTokens: 64_000,
    });
    const result = await awaitResult(handle);
    expect(result).toMatchObject({ status: 'completed' });
    expect(result.report!.split(' | ')).toHaveLength(4);
    expect(result.report).not.toContain('error');
    for (let i = 0; i < 4; i++) {
      expect((await stat(join(workspace, `big-${i}.txt`))).size).toBe(60_000);
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
    // The harness's workers allow writes; this run asks for approval (a run may narrow a policy).
    const { handle } = await start(`[sim:call write_file] ${JSON.stringify(input)}`, {
      toolPolicies: { write_file: 'approve' },
    });
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
    const { handle, workspace } = await start('[sim:big-writes 1 20000]', {
      toolPolicies: { write_file: 'approve' },
      maxOutputTokens: 8_000,
    });
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

/** A tool call as a raw model server sends it: the input as raw JSON text (nothing here stringifies it). */
interface RawCall {
  name: string;
  json: string;
}
type RawRequest = { messages: { role: string; content: { type: string; content?: string; input?: unknown }[] }[] };

/** The tool results of the request's last message, as text. */
const resultsOf = (request: RawRequest) =>
  (request.messages.at(-1)!.content as { type: string; content?: string; is_error?: boolean }[])
    .filter((b) => b.type === 'tool_result')
    .map((b) => `${b.is_error ? 'error' : 'ok'}: ${b.content}`);

/** A model server whose every reply is the tool calls `reply` gives for the request, streamed as the API does. */
function rawModelServer(reply: (request: RawRequest, n: number) => RawCall[]) {
  const requests: RawRequest[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const request = JSON.parse(body) as RawRequest;
      requests.push(request);
      const n = requests.length;
      const frame = (data: { type: string }) => `event: ${data.type}\ndata: ${JSON.stringify(data)}\n\n`;
      const usage = { input_tokens: 10, output_tokens: 0 };
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const message = { id: `msg_${n}`, type: 'message', role: 'assistant', model: 'raw', content: [], usage };
      res.write(
        frame({ type: 'message_start', message: { ...message, stop_reason: null, stop_sequence: null } } as never),
      );
      reply(request, n).forEach((call, index) => {
        const block = { type: 'tool_use', id: `toolu_${n}_${index}`, name: call.name, input: {} };
        res.write(frame({ type: 'content_block_start', index, content_block: block } as never));
        const delta = `{"type":"content_block_delta","index":${index},"delta":{"type":"input_json_delta","partial_json":${JSON.stringify(call.json)}}}`;
        res.write(`event: content_block_delta\ndata: ${delta}\n\n`);
        res.write(frame({ type: 'content_block_stop', index } as never));
      });
      const delta = { stop_reason: 'tool_use', stop_sequence: null };
      res.write(frame({ type: 'message_delta', delta, usage: { output_tokens: 5 } } as never));
      res.end(frame({ type: 'message_stop' }));
    });
  });
  return new Promise<{ server: Server; url: string; requests: RawRequest[] }>((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests }),
    ),
  );
}

/** Runs a task on a worker whose model is `reply`; returns the run's result and what the model server got. */
async function runWithRawModel(name: string, reply: (request: RawRequest, n: number) => RawCall[]) {
  const model = await rawModelServer(reply);
  const taskQueue = `${h.taskQueue}-${name}`;
  const worker = await testWorker(
    { connection: h.env.nativeConnection, taskQueue, storeDir: h.storeDir, simulatorUrl: model.url },
    { anthropic: new Anthropic({ apiKey: 'unused', baseURL: model.url, maxRetries: 0 }) },
  );
  const running = worker.run();
  try {
    // Refused calls are tool errors, and five in a row would ask a person: these runs go on without one.
    const options = { toolPolicies: { write_file: 'allow' as const }, escalation: { maxConsecutiveFailures: 100 } };
    const { handle } = await start('anything', options, taskQueue);
    return { result: await awaitResult(handle), requests: model.requests };
  } finally {
    worker.shutdown();
    await running;
    model.server.close();
  }
}

/** The second reply: finish, quoting the results the first reply's calls got. */
const finishQuoting = (request: RawRequest): RawCall[] => [
  { name: 'finish', json: JSON.stringify({ report: resultsOf(request).join(' | ') }) },
];

describe("a reply's tool calls, bounded in the model call's result", () => {
  it('a large update_state is refused, calls past 64 are not run, a large read input goes by reference', async () => {
    const decisions = Array.from({ length: 50 }, (_, i) => `${i} ${'d'.repeat(1_990)}`);
    const { result } = await runWithRawModel('many', (request, n) =>
      n > 1
        ? finishQuoting(request)
        : [
            { name: 'update_state', json: JSON.stringify({ add_decisions: decisions }) },
            { name: 'read_file', json: JSON.stringify({ path: 'missing.txt', note: 'n'.repeat(20_000) }) },
            ...Array.from({ length: 68 }, () => ({ name: 'list_files', json: '{}' })),
          ],
    );
    expect(result.status).toBe('completed');
    const told = result.report!.split(' | ');
    expect(told).toHaveLength(70);
    expect(told[0]).toMatch(
      /^error: update_state was not run: its input is \d+ bytes, and a reply's .* may hold 65536 bytes in all/,
    );
    // The stored input was read back: the tool saw (and refused) the unknown field, not an empty input.
    expect(told[1]).toMatch(/^error: invalid input for read_file: .*note/);
    expect(told.slice(2, 64).every((t) => t.startsWith('ok: '))).toBe(true);
    expect(told.slice(64)).toEqual(
      Array(6).fill(
        'error: list_files was not run: a reply may make at most 64 tool calls; make the rest in your next reply',
      ),
    );
    expect(result.state.decisions).toEqual([]);
  });
});

describe('a tool input nested 100,000 deep', () => {
  it('is one tool error naming the limit, with no model call retried', async () => {
    const deep = `${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`;
    const { result, requests } = await runWithRawModel('deep', (request, n) =>
      n > 1 ? finishQuoting(request) : [{ name: 'write_file', json: deep }],
    );
    expect(result).toMatchObject({ status: 'completed', counters: { modelCalls: 2, toolErrors: 1 } });
    expect(result.report).toBe(
      `error: write_file was not run: its input is nested deeper than ${MAX_INPUT_DEPTH} levels, the limit; send a flatter input`,
    );
    // Two requests, no retry; the transcript the model is sent holds the call with its input replaced.
    expect(requests).toHaveLength(2);
    const assistant = requests[1]!.messages.find((m) => m.role === 'assistant')!;
    expect(assistant.content.find((b) => b.type === 'tool_use')!.input).toEqual({});
  });
});
