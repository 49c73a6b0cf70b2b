import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { dirname, join } from 'node:path';
import Anthropic, { APIConnectionError, BadRequestError, RateLimitError } from '@anthropic-ai/sdk';
import type {
  BetaContentBlockParam,
  BetaMessage,
  BetaMessageParam,
  MessageCreateParamsNonStreaming,
} from '@anthropic-ai/sdk/resources/beta/messages/messages';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DEFAULT_MODEL } from '../common/models.js';
import { renderSystemPrompt } from '../common/prompt-format.js';
import { signSummary } from '../simulator/compaction.js';
import { auditGroundTruth, auditReport, auditTask, writeAuditWorkspace } from '../simulator/scenarios/audit.js';
import { toToolSchema } from '../tools/define.js';
import { useSdkSimulator } from './helpers/sdk-simulator.js';
import { stateTools } from '../common/state-tools.js';
import { applyStateUpdate, initialState, StateUpdate, type AgentState } from '../common/state.js';

const BETA = 'compact-2026-01-12';
const INSTRUCTIONS = 'You are a careful agent working through a long task with tools.';
const TOOLS = [
  toToolSchema({ name: 'list_files', description: 'List files.', input: z.object({ path: z.string().optional() }) }),
  toToolSchema({ name: 'read_file', description: 'Read a file.', input: z.object({ path: z.string() }) }),
  toToolSchema({
    name: 'write_file',
    description: 'Write a file.',
    input: z.object({ path: z.string(), content: z.string() }),
  }),
  toToolSchema(stateTools.update_state),
  toToolSchema(stateTools.finish),
];

const t = useSdkSimulator();

const compactionEdit = (trigger: number, pause = false) => ({
  betas: [BETA],
  context_management: {
    edits: [
      {
        type: 'compact_20260112' as const,
        trigger: { type: 'input_tokens' as const, value: trigger },
        pause_after_compaction: pause,
      },
    ],
  },
});

/** An audit request whose single user message is large enough to pass a 50,000-token trigger. */
function bigAuditRequest(): MessageCreateParamsNonStreaming {
  return {
    model: DEFAULT_MODEL,
    max_tokens: 1024,
    system: renderSystemPrompt(INSTRUCTIONS, auditTask(3), initialState()),
    tools: TOOLS,
    messages: [{ role: 'user', content: `Start the audit. ${'background '.repeat(20_000)}` }],
  };
}

// The simulator signs the kind with the summary (threshold or on-demand), so it can tell them apart.
const sign = (content: string) => signSummary('longhaul-simulator', content);

/** A reply without its ids, which are random as on the real API. */
const withoutIds = (message: BetaMessage) => ({
  ...message,
  id: 'msg',
  content: message.content.map((block) => (block.type === 'tool_use' ? { ...block, id: 'toolu' } : block)),
});

async function apiError(promise: Promise<unknown>): Promise<InstanceType<typeof Anthropic.APIError>> {
  const error = await promise.then(
    () => null,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(Anthropic.APIError);
  return error as InstanceType<typeof Anthropic.APIError>;
}

describe('messages endpoint', () => {
  it('streams exactly the message it returns without streaming, with usage.iterations', async () => {
    const params: MessageCreateParamsNonStreaming = {
      model: DEFAULT_MODEL,
      max_tokens: 1024,
      system: renderSystemPrompt(INSTRUCTIONS, auditTask(5), initialState()),
      tools: TOOLS,
      messages: [{ role: 'user', content: 'Start.' }],
      ...compactionEdit(100_000),
    };
    const plain = await t.client.beta.messages.create(params);
    const streamed = await t.client.beta.messages.stream(params).finalMessage();
    expect(withoutIds({ ...streamed, parsed_output: undefined } as BetaMessage)).toEqual(withoutIds(plain));
    expect(plain.content.map((b) => b.type)).toEqual(['text', 'tool_use']);
    expect(plain.usage.iterations).toEqual([
      expect.objectContaining({ type: 'message', input_tokens: plain.usage.input_tokens }),
    ]);
    // The same request gets the same answer, under new ids.
    const again = await t.client.beta.messages.create(params);
    expect(withoutIds(again)).toEqual(withoutIds(plain));
    expect(again.id).not.toBe(plain.id);
  });

  it('streams a compaction block the SDK accumulates into the same block', async () => {
    const params = { ...bigAuditRequest(), ...compactionEdit(50_000) };
    const plain = await t.client.beta.messages.create(params);
    const stream = t.client.beta.messages.stream(params);
    const summaries: string[] = [];
    stream.on('compaction', (content) => summaries.push(content));
    const streamed = await stream.finalMessage();
    expect(withoutIds({ ...streamed, parsed_output: undefined } as BetaMessage)).toEqual(withoutIds(plain));
    expect(summaries).toEqual([(plain.content[0] as { content: string }).content]);
  });

  it('refuses an orphaned tool_use', async () => {
    const error = await apiError(
      t.client.beta.messages.create({
        model: DEFAULT_MODEL,
        max_tokens: 100,
        messages: [
          { role: 'user', content: 'go' },
          {
            role: 'assistant',
            content: [{ type: 'tool_use', id: 'toolu_orphan', name: 'read_file', input: { path: 'a' } }],
          },
          { role: 'user', content: 'no result here' },
        ],
      }),
    );
    expect(error).toBeInstanceOf(BadRequestError);
    expect(error.apiMessage).toMatch(
      /tool_use`? ids were found without `?tool_result`? blocks immediately after: toolu_orphan/,
    );
  });

  it('answers unknown routes with not_found_error', async () => {
    const response = await fetch(`${t.sim.url}/v1/nothing`, { method: 'POST', body: '{}' });
    expect(response.status).toBe(404);
    expect(response.headers.get('request-id')).toMatch(/^req_[\w-]+$/);
    expect(await response.json()).toMatchObject({ type: 'error', error: { type: 'not_found_error' } });
  });
});

describe('threshold compaction', () => {
  it('compacts over the trigger: a signed block first, then the action', async () => {
    const response = await t.client.beta.messages.create({ ...bigAuditRequest(), ...compactionEdit(50_000) });
    const [block, ...rest] = response.content;
    expect(block).toMatchObject({ type: 'compaction', encrypted_content: null });
    const summary = (block as { content: string }).content;
    expect(summary).toContain('Last item audited: none');
    expect((block as { signature: string }).signature).toBe(sign(summary));
    expect(rest.map((b) => b.type)).toEqual(['text', 'tool_use']);
    expect(response.stop_reason).toBe('tool_use');
    const [compaction, message] = response.usage.iterations ?? [];
    expect(compaction).toMatchObject({ type: 'compaction' });
    expect(compaction!.input_tokens).toBeGreaterThan(50_000);
    expect(message).toMatchObject({ type: 'message', input_tokens: response.usage.input_tokens });
    expect(response.usage.input_tokens).toBeLessThan(5_000);
  });

  it('does not compact under the trigger, and refuses a trigger below 50,000 or a missing beta', async () => {
    const under = await t.client.beta.messages.create({ ...bigAuditRequest(), ...compactionEdit(100_000) });
    expect(under.content[0]!.type).toBe('text');
    const low = await apiError(t.client.beta.messages.create({ ...bigAuditRequest(), ...compactionEdit(49_999) }));
    expect(low.status).toBe(400);
    const { betas: _omitted, ...noBeta } = { ...bigAuditRequest(), ...compactionEdit(50_000) };
    const missing = await apiError(t.client.beta.messages.create(noBeta));
    expect(missing.apiMessage).toContain(BETA);
  });

  describe('after a paused compaction', () => {
    let request: MessageCreateParamsNonStreaming;
    let paused: BetaMessage;
    let block: { type: 'compaction'; content: string; encrypted_content: null; signature: string };
    const resend = (compactionBlock: object, role: 'assistant' | 'user' = 'assistant') =>
      t.client.beta.messages.create({
        ...request,
        messages: [...request.messages, { role, content: [compactionBlock as BetaContentBlockParam] }],
      });

    beforeAll(async () => {
      request = { ...bigAuditRequest(), ...compactionEdit(50_000, true) };
      paused = await t.client.beta.messages.create(request);
      block = paused.content[0] as typeof block;
    });

    it('returns only the block, with stop_reason compaction', () => {
      expect(paused.content).toHaveLength(1);
      expect(paused.stop_reason).toBe('compaction');
      expect(block.type).toBe('compaction');
    });

    it('goes on when the block is sent back, ignoring what came before it', async () => {
      const next = await resend(block);
      expect(next.stop_reason).toBe('tool_use');
      expect(next.content.some((b) => b.type === 'compaction')).toBe(false);
      expect(next.content.at(-1)).toMatchObject({
        type: 'tool_use',
        name: 'read_file',
        input: { path: 'item-001.txt' },
      });

      const count = (messages: BetaMessageParam[]) => {
        // count_tokens takes no max_tokens.
        const { max_tokens: _maxTokens, ...counted } = request;
        return t.client.beta.messages.countTokens({ ...counted, messages });
      };
      const before = await count(request.messages);
      const after = await count([...request.messages, { role: 'assistant', content: [block] }]);
      expect(before.input_tokens).toBeGreaterThan(50_000);
      expect(after.input_tokens).toBeLessThan(1_000);
      expect(after.context_management?.original_input_tokens).toBeGreaterThan(before.input_tokens);
      expect(before.context_management).toBeNull();
    });

    it('refuses an edited block with compaction_content_mismatch', async () => {
      const error = await apiError(resend({ ...block, content: `${block.content} Item-007 was fine.` }));
      expect(error.status).toBe(400);
      expect(error).toBeInstanceOf(Anthropic.CompactionContentMismatchError);
      expect(error.errorCode).toBe('compaction_content_mismatch');
      expect(error.details).toEqual({ error_code: 'compaction_content_mismatch' });
    });

    it('refuses extra fields, a misplaced block and two blocks with content', async () => {
      const extra = await apiError(resend({ ...block, citations: null }));
      expect(extra).toBeInstanceOf(BadRequestError);
      expect(extra.apiMessage).toContain('Extra inputs are not permitted');

      const misplaced = await apiError(
        t.client.beta.messages.create({ ...request, messages: [{ role: 'user', content: [block] }] }),
      );
      expect(misplaced.errorCode).toBe('compaction_block_misplaced');

      const ambiguous = await apiError(
        t.client.beta.messages.create({
          ...request,
          messages: [...request.messages, { role: 'assistant', content: [block, block] as BetaContentBlockParam[] }],
        }),
      );
      expect(ambiguous.errorCode).toBe('compaction_block_ambiguous');

      const failed = await resend({ type: 'compaction', content: null, encrypted_content: null });
      expect(failed.content[0]!.type).toBe('compaction'); // a null block is a no-op: the context is still large
    });
  });
});

describe('fault injection', () => {
  it('serves a 429 with retry-after as RateLimitError', async () => {
    t.sim.injectFaults([{ status: 429, headers: { 'retry-after': '7' } }]);
    const error = await apiError(t.client.beta.messages.create({ ...bigAuditRequest(), max_tokens: 10 }));
    expect(error).toBeInstanceOf(RateLimitError);
    expect(error.headers?.get('retry-after')).toBe('7');
    expect(error.type).toBe('rate_limit_error');
  });

  it('drops the connection as APIConnectionError, and takes faults over HTTP', async () => {
    const before = t.sim.stats().faultsServed;
    const queued = await fetch(`${t.sim.url}/__sim/faults`, {
      method: 'POST',
      body: JSON.stringify({ faults: [{ dropConnection: true, match: 'messages' }] }),
    });
    expect(queued.status).toBe(200);
    const error = await apiError(t.client.beta.messages.create({ ...bigAuditRequest(), max_tokens: 10 }));
    expect(error).toBeInstanceOf(APIConnectionError);
    const stats = (await (await fetch(`${t.sim.url}/__sim/stats`)).json()) as { faultsServed: number };
    expect(stats.faultsServed).toBe(before + 1);

    const invalid = await fetch(`${t.sim.url}/__sim/faults`, {
      method: 'POST',
      body: JSON.stringify({ faults: [{ times: 0 }] }),
    });
    expect(invalid.status).toBe(400);
  });

  it('holds a request until released, and release drops the faults still queued', async () => {
    const request = { ...bigAuditRequest(), max_tokens: 10 };
    const before = t.sim.stats().faultsServed;
    t.sim.injectFaults([
      { hold: true, match: 'messages' },
      { status: 500, match: 'messages' },
      { status: 503, match: 'messages' },
    ]);
    let answered = false;
    const held = t.client.beta.messages.create(request).finally(() => (answered = true));
    while (t.sim.stats().faultsServed === before) await sleep(10);
    // A whole request after it is answered while it still waits.
    expect((await apiError(t.client.beta.messages.create(request))).status).toBe(500);
    expect(answered).toBe(false);
    expect((await fetch(`${t.sim.url}/__sim/release`, { method: 'POST' })).status).toBe(200);
    expect((await held).role).toBe('assistant');
    // The 503 was dropped.
    expect((await t.client.beta.messages.create(request)).role).toBe('assistant');
    expect(t.sim.stats().faultsServed).toBe(before + 2);
  });
});

describe('audit scenario', () => {
  interface AuditRun {
    report: string;
    state: AgentState;
    toolErrors: string[];
    workspace: string;
  }

  /** A minimal agent loop (no Temporal): runs the tools against a real workspace and keeps the state. */
  async function runAudit(opts: {
    n: number;
    task?: string;
    injectState?: boolean;
    compaction?: { trigger: number; pause: boolean };
  }): Promise<AuditRun> {
    const { n, task = auditTask(n), injectState = true, compaction } = opts;
    const workspace = await mkdtemp(join(tmpdir(), 'sim-audit-'));
    t.scratch.push(workspace);
    await writeAuditWorkspace(workspace, n);
    let state = initialState();
    const toolErrors: string[] = [];
    let messages: BetaMessageParam[] = [{ role: 'user', content: 'Start the task.' }];

    const runTool = async (
      name: string,
      input: Record<string, string>,
    ): Promise<{ content: string; isError?: boolean }> => {
      switch (name) {
        case 'read_file':
          return readFile(join(workspace, input.path!), 'utf8').then(
            (content) => ({ content }),
            () => ({ content: `no such file: ${input.path}`, isError: true }),
          );
        case 'write_file':
          await mkdir(dirname(join(workspace, input.path!)), { recursive: true });
          await writeFile(join(workspace, input.path!), input.content!);
          return { content: 'written' };
        case 'list_files':
          return { content: (await readdir(workspace)).join('\n') };
        case 'update_state': {
          const update = StateUpdate.safeParse(input);
          if (!update.success) return { content: z.prettifyError(update.error), isError: true };
          state = applyStateUpdate(state, update.data);
          return { content: 'state updated' };
        }
        default:
          return { content: `unknown tool ${name}`, isError: true };
      }
    };

    for (let turn = 0; turn < 3 * n + 20; turn++) {
      const response = await t.client.beta.messages.create({
        model: DEFAULT_MODEL,
        max_tokens: 4096,
        system: renderSystemPrompt(INSTRUCTIONS, task, injectState ? state : null),
        tools: TOOLS,
        messages,
        ...(compaction ? compactionEdit(compaction.trigger, compaction.pause) : {}),
      });
      // The API ignores everything before a compaction block, so a client may drop it.
      if (response.content[0]?.type === 'compaction') messages = [];
      // After a pause the response goes on with the same assistant turn: extend it (the API would merge the two).
      const last = messages.at(-1);
      const content = response.content as BetaContentBlockParam[];
      if (last?.role === 'assistant') last.content = [...(last.content as BetaContentBlockParam[]), ...content];
      else messages.push({ role: 'assistant', content });
      if (response.stop_reason === 'compaction') continue;
      const results: BetaContentBlockParam[] = [];
      for (const block of response.content) {
        if (block.type !== 'tool_use') continue;
        const input = block.input as Record<string, string>;
        if (block.name === 'finish') return { report: input.report!, state, toolErrors, workspace };
        const output = await runTool(block.name, input);
        if (output.isError) toolErrors.push(output.content);
        // Clients send tool_result content as a string or as text blocks: alternate to cover both.
        const content = turn % 2 === 0 ? output.content : [{ type: 'text' as const, text: output.content }];
        results.push({
          type: 'tool_result',
          tool_use_id: block.id,
          content,
          ...(output.isError !== undefined ? { is_error: output.isError } : {}),
        });
      }
      messages.push({ role: 'user', content: results });
    }
    throw new Error('the audit did not finish');
  }

  it('writes a deterministic workspace whose ground truth matches the risk lines', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sim-ws-'));
    t.scratch.push(dir);
    await writeAuditWorkspace(dir, 1000);
    const files = (await readdir(dir)).sort();
    expect(files[0]).toBe('item-0001.txt');
    expect(files).toHaveLength(1000);
    const first = await readFile(join(dir, 'item-0001.txt'), 'utf8');
    expect(first.length).toBeGreaterThan(3_600);
    expect(first.length).toBeLessThan(4_200);
    const truth = auditGroundTruth(1000);
    const share = (severity: string) => truth.filter((f) => f.severity === severity).length / 1000;
    expect(1 - truth.length / 1000).toBeCloseTo(0.6, 1);
    expect(share('low')).toBeCloseTo(0.2, 1);
    expect(share('medium')).toBeCloseTo(0.12, 1);
    expect(share('high')).toBeCloseTo(0.08, 1);
    const firstRisky = truth[0]!;
    expect(await readFile(join(dir, firstRisky.item), 'utf8')).toContain(
      `risk: ${firstRisky.severity}\ndetail: ${firstRisky.detail}\n`,
    );
  });

  it('formats the canonical report', () => {
    const report = auditReport(5, [
      { item: 'item-004.txt', severity: 'low', detail: 'a' },
      { item: 'item-002.txt', severity: 'high', detail: 'b' },
      { item: 'item-004.txt', severity: 'low', detail: 'a' },
      { item: 'item-001.txt', severity: 'low', detail: 'c' },
    ]);
    expect(report).toBe(
      'Audit report: 5 files audited, 3 findings.\nhigh (1): item-002.txt\nlow (2): item-001.txt, item-004.txt\nno risk: 2 files',
    );
  });

  it('audits 5 files and reports the ground truth', async () => {
    const run = await runAudit({ n: 5 });
    expect(run.report).toBe(auditReport(5, auditGroundTruth(5)));
    expect(await readFile(join(run.workspace, 'report.md'), 'utf8')).toBe(run.report);
    expect(run.state.itemsDone).toEqual([
      'item-001.txt',
      'item-002.txt',
      'item-003.txt',
      'item-004.txt',
      'item-005.txt',
    ]);
    expect(run.toolErrors).toEqual([]);
  });

  it('sends one invalid update_state when asked, then recovers', async () => {
    const run = await runAudit({ n: 5, task: auditTask(5, { invalidUpdateOnce: true }) });
    expect(run.toolErrors).toHaveLength(1);
    expect(run.toolErrors[0]).toContain('mark_done');
    expect(run.report).toBe(auditReport(5, auditGroundTruth(5)));
    expect(run.state.itemsDone).toHaveLength(5);
  });

  describe('through compaction (120 files, trigger 50,000)', () => {
    const n = 120;
    const expected = auditReport(n, auditGroundTruth(n));

    it('reports the ground truth when the state is injected, and writes progress notes', async () => {
      const before = t.sim.stats().compactions;
      const run = await runAudit({ n, compaction: { trigger: 50_000, pause: false } });
      expect(t.sim.stats().compactions).toBeGreaterThan(before);
      expect(t.sim.stats().maxVisibleInputTokens).toBeLessThan(60_000);
      expect(run.report).toBe(expected);
      expect((await readdir(join(run.workspace, 'notes'))).sort()).toEqual(['progress-100.md', 'progress-50.md']);
    });

    it('reports the ground truth with pause_after_compaction', async () => {
      const run = await runAudit({ n, compaction: { trigger: 50_000, pause: true } });
      expect(run.report).toBe(expected);
    });

    it('loses findings from before the last compaction when the state is not injected', async () => {
      const run = await runAudit({ n, injectState: false, compaction: { trigger: 50_000, pause: false } });
      const reported = Number(
        new RegExp(`^Audit report: ${n} files audited, (\\d+) findings\\.`).exec(run.report)?.[1],
      );
      expect(reported).toBeGreaterThan(0);
      expect(reported).toBeLessThan(auditGroundTruth(n).length);
    });
  });
});
