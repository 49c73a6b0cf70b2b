import Anthropic, { BadRequestError } from '@anthropic-ai/sdk';
import type {
  BetaMessage,
  BetaMessageParam,
  BetaRawMessageStreamEvent,
  BetaTextBlockParam,
  BetaUsage,
  MessageCreateParamsNonStreaming,
} from '@anthropic-ai/sdk/resources/beta/messages/messages';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { renderSystemPrompt } from '../common/prompt-format.js';
import { initialState } from '../common/state.js';
import { auditTask } from '../simulator/scenarios/audit.js';
import { startSimulator, type Simulator } from '../simulator/server.js';

// Prompt caching through the real SDK: the cache is the simulator's, shared by its requests.
const MODEL = 'claude-sonnet-5-5';
const BETA = 'compact-2026-01-12';
const RULES = `You are a careful auditor. ${'Read every file before you judge it, and say why. '.repeat(80)}`;
const TOOLS = [
  { name: 'read_file', description: 'Read a file.', input_schema: { type: 'object' as const, properties: {} } },
  { name: 'update_state', description: 'Record progress.', input_schema: { type: 'object' as const, properties: {} } },
];
const MINUTE = 60_000;

let sim: Simulator;
let client: Anthropic;

beforeEach(async () => {
  let now = 1_700_000_000_000;
  sim = await startSimulator({ now: () => (now += 1) });
  client = new Anthropic({ apiKey: 'x', baseURL: sim.url, maxRetries: 0 });
});
afterEach(async () => {
  await sim.close();
});

const ephemeral = (ttl: '5m' | '1h' = '5m') => ({ type: 'ephemeral' as const, ttl });
const systemBlock = (ttl?: '5m' | '1h', rules = RULES): BetaTextBlockParam[] => [
  {
    type: 'text',
    text: renderSystemPrompt(rules, auditTask(3), initialState()),
    ...(ttl ? { cache_control: ephemeral(ttl) } : {}),
  },
];
const turns = (n: number, tailTtl?: '5m' | '1h'): BetaMessageParam[] => {
  const messages: BetaMessageParam[] = [];
  for (let i = 0; i < n; i++) {
    messages.push(
      // Blocks, not strings: the estimate counts a string's shorter JSON, and reads are compared exactly here.
      { role: 'user', content: [{ type: 'text', text: `Go on with step ${i}.` }] },
      { role: 'assistant', content: [{ type: 'text', text: `Step ${i} done.` }] },
    );
  }
  const last: BetaTextBlockParam = {
    type: 'text',
    text: `Go on with step ${n}.`,
    ...(tailTtl ? { cache_control: ephemeral(tailTtl) } : {}),
  };
  messages.push({ role: 'user', content: [last] });
  return messages;
};
const request = (over: Partial<MessageCreateParamsNonStreaming> = {}): MessageCreateParamsNonStreaming => ({
  model: MODEL,
  max_tokens: 1024,
  tools: TOOLS,
  system: systemBlock('1h'),
  messages: turns(2, '5m'),
  ...over,
});

const written = (usage: BetaUsage) => usage.cache_creation_input_tokens ?? 0;
const read = (usage: BetaUsage) => usage.cache_read_input_tokens ?? 0;
const inputOf = (usage: BetaUsage) => usage.input_tokens + written(usage) + read(usage);

/** The same request's whole input: count_tokens never reads or writes the cache. */
async function uncachedInput(params: MessageCreateParamsNonStreaming): Promise<number> {
  const { model, system = [], tools = [], messages } = params;
  return (await client.beta.messages.countTokens({ model, system, tools, messages })).input_tokens;
}

async function rejection(params: MessageCreateParamsNonStreaming): Promise<BadRequestError> {
  const error = await client.beta.messages.create(params).then(
    () => null,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(BadRequestError);
  return error as BadRequestError;
}

describe('prompt caching', () => {
  it('writes on the first request and reads on a repeat; the parts add up to the uncached input', async () => {
    const params = request();
    const first = await client.beta.messages.create(params);
    const total = await uncachedInput(params);
    expect(read(first.usage)).toBe(0);
    expect(written(first.usage)).toBeGreaterThan(0);
    expect(first.usage.cache_creation).toEqual({
      ephemeral_1h_input_tokens: expect.any(Number),
      ephemeral_5m_input_tokens: expect.any(Number),
    });
    // The 1h system breakpoint comes first: its prefix is a 1h write, the conversation after it a 5m one.
    expect(first.usage.cache_creation!.ephemeral_1h_input_tokens).toBeGreaterThan(512);
    expect(first.usage.cache_creation!.ephemeral_5m_input_tokens).toBeGreaterThan(0);
    expect(inputOf(first.usage)).toBe(total);

    const again = await client.beta.messages.create(params);
    expect(read(again.usage)).toBe(written(first.usage));
    expect(written(again.usage)).toBe(0);
    expect(again.usage.input_tokens).toBe(first.usage.input_tokens);
    expect(inputOf(again.usage)).toBe(total);
  });

  it('misses when the system prompt changes', async () => {
    await client.beta.messages.create(request());
    const changed = await client.beta.messages.create(request({ system: systemBlock('1h', `${RULES} Be brief.`) }));
    // Tools carry no breakpoint of their own, so nothing before the changed system block is an entry.
    expect(read(changed.usage)).toBe(0);
    expect(written(changed.usage)).toBeGreaterThan(0);
  });

  it('reads what the previous turn wrote when the conversation grows (automatic caching)', async () => {
    const auto = (n: number) => request({ system: systemBlock(), messages: turns(n), cache_control: ephemeral() });
    const first = await client.beta.messages.create(auto(2));
    const next = await client.beta.messages.create(auto(3));
    expect(read(next.usage)).toBe(written(first.usage));
    expect(written(next.usage)).toBeGreaterThan(0);
    expect(inputOf(next.usage)).toBe(await uncachedInput(auto(3)));
  });

  it('caches nothing for a prompt below the model minimum', async () => {
    const small = await client.beta.messages.create(
      request({ tools: [], system: 'Be brief.', messages: turns(1), cache_control: ephemeral() }),
    );
    expect(written(small.usage)).toBe(0);
    expect(read(small.usage)).toBe(0);
  });

  it('refuses a fifth breakpoint, the top-level one counting, as the API does', async () => {
    const four = turns(0, '5m');
    four.unshift(
      { role: 'user', content: [{ type: 'text', text: 'a', cache_control: ephemeral() }] },
      { role: 'assistant', content: [{ type: 'text', text: 'b', cache_control: ephemeral() }] },
    );
    const tooMany = request({ system: systemBlock('1h'), messages: four, cache_control: ephemeral() });
    const error = await rejection(tooMany);
    expect(error.status).toBe(400);
    expect(error.type).toBe('invalid_request_error');
    expect(error.apiMessage).toBe('A maximum of 4 blocks with cache_control may be provided. Found 5.');
    // Without the top-level one the same request is fine.
    await expect(client.beta.messages.create({ ...tooMany, cache_control: null })).resolves.toBeTruthy();
  });

  it('refuses a 1h breakpoint after a 5m one', async () => {
    const error = await rejection(request({ system: systemBlock('5m'), messages: turns(1, '1h') }));
    expect(error.type).toBe('invalid_request_error');
    expect(error.apiMessage).toMatch(/ttl='1h' cache_control block must not come after a ttl='5m'/);
  });

  it('expires a 5m entry on a moved clock and keeps a 1h one; a read refreshes an entry', async () => {
    const params = request();
    const first = await client.beta.messages.create(params);
    const hour = first.usage.cache_creation!.ephemeral_1h_input_tokens;

    // Within five minutes of each read, the 5m entry stays.
    for (let i = 0; i < 2; i++) {
      sim.advanceClock(4 * MINUTE);
      expect(read((await client.beta.messages.create(params)).usage)).toBe(written(first.usage));
    }
    // The admin route moves the same clock, for a simulator in another process.
    const moved = await fetch(`${sim.url}/__sim/clock`, {
      method: 'POST',
      body: JSON.stringify({ advanceMs: 6 * MINUTE }),
    });
    expect(moved.status).toBe(200);
    const later = await client.beta.messages.create(params);
    expect(read(later.usage)).toBe(hour);
    expect(later.usage.cache_creation).toEqual({
      ephemeral_1h_input_tokens: 0,
      ephemeral_5m_input_tokens: first.usage.cache_creation!.ephemeral_5m_input_tokens,
    });
    expect((await fetch(`${sim.url}/__sim/clock`, { method: 'POST', body: '{"advanceMs":-1}' })).status).toBe(400);
  });

  it('streams the input-side usage in message_start, as the final message has it', async () => {
    await client.beta.messages.create(request());
    const events: BetaRawMessageStreamEvent[] = [];
    const stream = client.beta.messages.stream(request({ messages: turns(3, '5m') }));
    stream.on('streamEvent', (event) => events.push(event));
    const final = await stream.finalMessage();
    const start = events.find((e) => e.type === 'message_start');
    expect(start?.type === 'message_start' && start.message.usage).toMatchObject({
      input_tokens: final.usage.input_tokens,
      cache_read_input_tokens: final.usage.cache_read_input_tokens,
      cache_creation_input_tokens: final.usage.cache_creation_input_tokens,
      cache_creation: final.usage.cache_creation,
    });
    expect(read(final.usage)).toBeGreaterThan(0);
    expect(written(final.usage)).toBeGreaterThan(0);
  });

  it('totals billed input in the stats and keeps the latest request bodies', async () => {
    const replies: BetaMessage[] = [];
    for (const n of [2, 3]) replies.push(await client.beta.messages.create(request({ messages: turns(n, '5m') })));
    const stats = sim.stats();
    const sumOf = (pick: (u: BetaUsage) => number) => replies.reduce((total, reply) => total + pick(reply.usage), 0);
    expect(stats.inputTokens).toBe(sumOf((u) => u.input_tokens));
    expect(stats.cacheReadInputTokens).toBe(sumOf(read));
    expect(stats.cacheCreationInputTokens).toBe(sumOf(written));
    expect(sim.requests().map((r) => r.body)).toEqual([
      request({ messages: turns(2, '5m') }),
      request({ messages: turns(3, '5m') }),
    ]);
    const remote = (await (await fetch(`${sim.url}/__sim/requests`)).json()) as { requests: unknown[] };
    expect(remote.requests).toEqual(sim.requests());
  });
});

describe('prompt caching with compaction', () => {
  const compacting = (messages: BetaMessageParam[]) =>
    request({
      system: systemBlock('1h'),
      messages,
      betas: [BETA],
      context_management: {
        edits: [{ type: 'compact_20260112', trigger: { type: 'input_tokens', value: 50_000 } }],
      },
    });
  const big: BetaMessageParam[] = [{ role: 'user', content: `Start the audit. ${'background '.repeat(20_000)}` }];

  it('reads the system prefix after a compaction, then caches the compaction block sent back', async () => {
    const compacted = await client.beta.messages.create(compacting(big));
    const [summarizing, sampling] = compacted.usage.iterations!;
    expect(summarizing).toMatchObject({ type: 'compaction' });
    expect(sampling).toMatchObject({ type: 'message' });
    // The summarizing pass wrote the system prefix; the model's pass after it read that prefix.
    expect(summarizing!.cache_creation?.ephemeral_1h_input_tokens).toBeGreaterThan(512);
    expect(sampling!.cache_read_input_tokens).toBe(summarizing!.cache_creation!.ephemeral_1h_input_tokens);
    expect(compacted.usage.cache_read_input_tokens).toBe(sampling!.cache_read_input_tokens);

    // Sent back with a breakpoint, the compaction block (and what the model answered) is written once, then read.
    const [block, ...answer] = compacted.content;
    expect(block?.type).toBe('compaction');
    const resumed = [
      ...big,
      { role: 'assistant' as const, content: [{ ...(block as object), cache_control: ephemeral() }, ...answer] },
    ] as BetaMessageParam[];
    const toolUses = answer.filter((b) => b.type === 'tool_use');
    if (toolUses.length > 0) {
      resumed.push({
        role: 'user',
        content: toolUses.map((b) => ({ type: 'tool_result' as const, tool_use_id: b.id, content: 'ok' })),
      });
    } else {
      resumed.push({ role: 'user', content: 'Go on.' });
    }
    const next = await client.beta.messages.create(compacting(resumed));
    expect(next.usage.iterations).toHaveLength(1);
    expect(read(next.usage)).toBe(sampling!.cache_read_input_tokens);
    expect(written(next.usage)).toBeGreaterThan(0);
    const again = await client.beta.messages.create(compacting(resumed));
    expect(read(again.usage)).toBe(read(next.usage) + written(next.usage));
  });
});
