import { trace } from '@opentelemetry/api';
import { DEFAULT_MODEL } from '../common/models.js';
import type { ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readEnv } from '../config/env.js';
import { telemetryFromEnv, tracesUrl } from '../worker/telemetry.js';
import { startRun } from '../client/connect.js';
import { exportMarkdown, readExport, readRun } from '../client/export.js';
import { DirectoryStore } from '../store/directory-store.js';
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { useHarness } from './helpers/harness.js';

/** An OTLP attribute as the JSON encoding writes it. */
interface OtlpAttribute {
  key: string;
  value: { stringValue?: string; intValue?: number | string; boolValue?: boolean; arrayValue?: unknown };
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes: OtlpAttribute[];
}
interface OtlpExport {
  resourceSpans: { resource: { attributes: OtlpAttribute[] }; scopeSpans: { spans: OtlpSpan[] }[] }[];
}

const attrs = (list: OtlpAttribute[]) =>
  Object.fromEntries(
    list.map(({ key, value }) => [
      key,
      value.stringValue ?? (value.intValue !== undefined ? Number(value.intValue) : value.boolValue),
    ]),
  );

/** A local OTLP/HTTP receiver: records what is POSTed to /v1/traces. */
function startReceiver(): Promise<{ url: string; exports: OtlpExport[]; server: Server }> {
  const exports: OtlpExport[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      if (
        req.method === 'POST' &&
        req.url === '/v1/traces' &&
        req.headers['content-type']?.startsWith('application/json')
      ) {
        exports.push(JSON.parse(body) as OtlpExport);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      } else {
        res.writeHead(404).end();
      }
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, exports, server }),
    ),
  );
}

describe('tracing configuration', () => {
  it('is off without OTEL_EXPORTER_OTLP_ENDPOINT: nothing is started and no span records', () => {
    expect(telemetryFromEnv(readEnv({}))).toBeUndefined();
    expect(trace.getTracer('probe').startSpan('probe').isRecording()).toBe(false);
  });

  it('is on with it, and unregisters itself on shutdown', async () => {
    const telemetry = telemetryFromEnv(readEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1' }));
    expect(telemetry).toBeDefined();
    expect(trace.getTracer('probe').startSpan('probe').isRecording()).toBe(true);
    await telemetry!.shutdown();
    expect(trace.getTracer('probe').startSpan('probe').isRecording()).toBe(false);
  });

  it('appends the traces path to the endpoint, and refuses an endpoint that is not a URL', () => {
    expect(tracesUrl('http://collector:4318')).toBe('http://collector:4318/v1/traces');
    expect(tracesUrl('http://collector:4318/otlp/')).toBe('http://collector:4318/otlp/v1/traces');
    // Without a scheme, `localhost:4318` parses as a URL of scheme `localhost:`.
    expect(() => readEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'localhost:4318' })).toThrow(
      'OTEL_EXPORTER_OTLP_ENDPOINT="localhost:4318": must be an http:// or https:// URL',
    );
    expect(() => readEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'not a url' })).toThrow(
      'OTEL_EXPORTER_OTLP_ENDPOINT="not a url": Invalid URL',
    );
  });
});

describe('a traced worker (`longhaul worker` with OTEL_EXPORTER_OTLP_ENDPOINT)', () => {
  const h = useHarness();
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  beforeAll(async () => {
    receiver = await startReceiver();
  });
  afterAll(() => {
    receiver?.server.close();
  });

  it('sends spans for the model call and the tool call, and logs JSON lines with the run and turn', async () => {
    const child: ChildProcess = await h.spawnWorker(h.taskQueue, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));

    // One turn: a model call that lists the workspace (a tool call), then the turn cap stops the run.
    const workspace = join(h.dir, 'ws');
    await mkdir(workspace, { recursive: true });
    const handle = await startRun(
      h.env.client,
      { task: '[sim:forever] list the files', workspace, maxTurns: 1, escalation: { onCap: 'stop' } },
      { taskQueue: h.taskQueue, workflowId: `otel-${Date.now()}` },
    );
    const result = await handle.result();
    expect(result.status).toBe('stopped');

    // The worker flushes its spans as it stops.
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;

    const resources = receiver.exports.flatMap((e) => e.resourceSpans);
    expect(resources.length).toBeGreaterThan(0);
    for (const r of resources) expect(attrs(r.resource.attributes)['service.name']).toBe('longhaul-worker');
    const spans = resources.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans));
    const named = (name: string) => spans.filter((s) => s.name === name);
    // A span per attempt of the model call: on a busy machine an attempt may miss its heartbeat
    // timeout and run again. Its started event holds the last attempt's number.
    const events = (await handle.fetchHistory()).events ?? [];
    const modelCall = events.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'callModel');
    const started = events.find(
      (e) => String(e.activityTaskStartedEventAttributes?.scheduledEventId) === String(modelCall?.eventId),
    );
    expect(started).toBeDefined();
    expect(named('RunActivity:callModel')).toHaveLength(started!.activityTaskStartedEventAttributes!.attempt!);
    // The attempt that got the reply (an attempt timed out mid-call has no usage).
    const model = named('RunActivity:callModel').find(
      (s) => attrs(s.attributes)['gen_ai.usage.input_tokens'] !== undefined,
    );
    expect(attrs(model!.attributes)).toMatchObject({
      temporalWorkflowId: handle.workflowId,
      'longhaul.turn': 1,
      'gen_ai.request.model': DEFAULT_MODEL,
      'gen_ai.usage.input_tokens': expect.any(Number),
    });
    expect(attrs(model!.attributes)['gen_ai.usage.input_tokens']).toBeGreaterThan(0);

    // list_files runs as a local activity: no heartbeat timeout, and one attempt unless it fails.
    const [tool] = named('RunActivity:runTool');
    expect(named('RunActivity:runTool')).toHaveLength(1);
    expect(attrs(tool!.attributes)).toMatchObject({
      temporalWorkflowId: handle.workflowId,
      'longhaul.turn': 1,
      'gen_ai.tool.name': 'list_files',
      'longhaul.tool.is_error': false,
    });

    // The workflow's own spans (exported through the sink) make one trace with the activities'.
    const [run] = named('RunWorkflow:agentRun');
    expect(run).toBeDefined();
    expect(model!.traceId).toBe(run!.traceId);
    expect(tool!.traceId).toBe(run!.traceId);
    const scheduled = spans.find((s) => s.spanId === tool!.parentSpanId);
    expect(scheduled?.name).toBe('StartActivity:runTool');

    // stderr is JSON lines; the workflow's last line names the run and its turn.
    const lines = stderr.split('\n').filter(Boolean);
    const entries = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(
      entries.every((e) => typeof e.time === 'string' && typeof e.level === 'string' && typeof e.message === 'string'),
    ).toBe(true);
    expect(entries).toContainEqual(
      expect.objectContaining({
        level: 'INFO',
        message: 'run ended',
        workflowId: handle.workflowId,
        runId: handle.firstExecutionRunId,
        turn: 1,
        status: 'stopped',
      }),
    );
  });

  it('shows coding and MCP tools as it shows the built-in ones: spans, activity summaries, progress and export', async () => {
    // The Web UI, spans, progress and export read a call's name and line, whatever serves the tool.
    const repoRoot = fileURLToPath(new URL('..', import.meta.url));
    const mcp = {
      fixture: {
        command: process.execPath,
        args: ['--import', 'tsx', join(repoRoot, 'test/fixtures/mcp-server.ts'), '--stdio'],
        cwd: repoRoot,
        env: { MCP_COUNT_FILE: join(h.dir, 'views-count') },
      },
    };
    const child = await h.spawnWorker(h.taskQueue, {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      LONGHAUL_TOOLS: 'workspace,coding',
      LONGHAUL_COMMAND_ALLOW: 'echo',
      LONGHAUL_MCP_SERVERS: JSON.stringify(mcp),
    });
    const workspace = join(h.dir, 'ws-views');
    await mkdir(workspace, { recursive: true });
    await writeFile(join(workspace, 'a.txt'), 'alpha\n');
    const calls = [
      ['read_file', { path: 'a.txt' }],
      ['run_command', { command: 'echo from-the-shell' }],
      ['fixture__lookup', { key: 'beta' }],
    ];
    const handle = await startRun(
      h.env.client,
      { task: `[sim:calls] ${JSON.stringify(calls)}`, workspace },
      { taskQueue: h.taskQueue, workflowId: `views-${Date.now()}` },
    );
    const result = await handle.result();
    expect(result.status).toBe('completed');
    expect(result.report).toBe(
      'read_file ok: alpha\n | run_command ok: from-the-shell\n[exit code 0] | fixture__lookup ok: beta = 2',
    );

    // The activity summaries the Web UI names each activity by: the call's line, for every kind of tool.
    const { events } = await handle.fetchHistory();
    const summaries = events!
      .map((e) => e.userMetadata?.summary?.data)
      .filter((d): d is Uint8Array => !!d)
      .map((d) => JSON.parse(Buffer.from(d).toString()) as string);
    expect(summaries).toEqual(
      expect.arrayContaining([
        'read_file path="a.txt"',
        'run_command command="echo from-the-shell"',
        'fixture__lookup key="beta"',
      ]),
    );

    // Progress and the export count and show them like any call.
    const run = await readRun(h.env.client, handle.workflowId);
    // Three calls and finish.
    expect(run.progress.counters).toMatchObject({ toolCalls: 4, toolErrors: 0 });
    const md = exportMarkdown(await readExport(handle.workflowId, run, new DirectoryStore(h.storeDir)), run.progress);
    for (const name of ['read_file', 'run_command', 'fixture__lookup'])
      expect(md).toContain(`**tool call** \`${name}\``);
    expect(md).toContain('from-the-shell');

    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
    // A span per tool call, named and attributed the same way (read-only ones run as local activities).
    const spans = receiver.exports.flatMap((e) => e.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans)));
    const tools = spans
      .filter((s) => s.name === 'RunActivity:runTool' && attrs(s.attributes).temporalWorkflowId === handle.workflowId)
      .map((s) => attrs(s.attributes));
    expect(tools.map((t) => t['gen_ai.tool.name']).sort()).toEqual(['fixture__lookup', 'read_file', 'run_command']);
    for (const t of tools)
      expect(t).toMatchObject({ 'longhaul.turn': expect.any(Number), 'longhaul.tool.is_error': false });
  });
});
