import Anthropic, { AnthropicError, APIError, BadRequestError, ConflictError, NotFoundError } from '@anthropic-ai/sdk';
import { betaTool } from '@anthropic-ai/sdk/helpers/beta/json-schema';
import type {
  BetaCompactionBlock,
  BetaContentBlockParam,
  BetaMessageParam,
  BetaRawMessageStreamEvent,
  MessageCreateParamsNonStreaming,
} from '@anthropic-ai/sdk/resources/beta/messages/messages';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMPACTION_BETA, SUMMARIZE_BETA } from '../../common/messages-api.js';
import { DEFAULT_MODEL, MODELS } from '../../common/models.js';
import { renderSystemPrompt } from '../../common/prompt-format.js';
import { startSimulator, type Simulator } from '../../simulator/server.js';

/**
 * The simulator answers as the real Messages API does, checked through the real SDK: each
 * rejection with the SDK's error class, `type` and `error_code`, and the replies' shapes.
 */
let sim: Simulator;
let client: Anthropic;

beforeAll(async () => {
  sim = await startSimulator();
  client = new Anthropic({ apiKey: 'x', baseURL: sim.url, maxRetries: 0 });
});
afterAll(() => sim.close());

const INSTRUCTIONS = 'You are a careful agent.';
const system = (task: string) => renderSystemPrompt(INSTRUCTIONS, task, null);
const TOOLS = [
  { name: 'echo', description: 'Echo.', input_schema: { type: 'object' as const, properties: {} } },
  { name: 'finish', description: 'Finish.', input_schema: { type: 'object' as const, properties: {} } },
];

/** A request the simulator answers with one `finish` tool call. */
const request = (extra: Partial<MessageCreateParamsNonStreaming> = {}): MessageCreateParamsNonStreaming => ({
  model: DEFAULT_MODEL,
  max_tokens: 1024,
  system: system('Reply with: done'),
  tools: TOOLS,
  messages: [{ role: 'user', content: 'Start.' }],
  ...extra,
});

async function rejection(promise: Promise<unknown>): Promise<APIError> {
  const error = await promise.then(
    () => null,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(APIError);
  return error as APIError;
}

/** An on-demand compaction block of a short conversation. */
async function onDemandBlock(): Promise<BetaCompactionBlock> {
  const reply = await client.beta.messages.create({
    ...request(),
    betas: [SUMMARIZE_BETA],
    compaction: { type: 'summarize' },
  });
  expect(reply.stop_reason).toBe('compaction');
  return reply.content[0] as BetaCompactionBlock;
}

describe('models', () => {
  it('accepts every id of the model table and refuses any other with a 404 not_found_error', async () => {
    for (const model of Object.keys(MODELS)) {
      expect((await client.beta.messages.create(request({ model }))).model).toBe(model);
    }
    const error = await rejection(client.beta.messages.create(request({ model: 'claude-sonet-5-5' })));
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error.type).toBe('not_found_error');
    expect(error.apiMessage).toBe('model: claude-sonet-5-5');
    // count_tokens checks the model too.
    const counted = await rejection(client.beta.messages.countTokens({ model: 'sim-model', messages: [] }));
    expect(counted).toBeInstanceOf(NotFoundError);
  });

  it("refuses max_tokens above the model's output limit, and accepts the limit itself", async () => {
    const { maxOutputTokens } = MODELS[DEFAULT_MODEL]!;
    // The SDK wants a timeout of its own for a long non-streaming call.
    const over = await rejection(client.beta.messages.create(request({ max_tokens: 10_000_000 }), { timeout: 60_000 }));
    expect(over).toBeInstanceOf(BadRequestError);
    expect(over.type).toBe('invalid_request_error');
    expect(over.apiMessage).toBe(
      `max_tokens: 10000000 > ${maxOutputTokens}, which is the maximum allowed number of output tokens for ${DEFAULT_MODEL}`,
    );
    const atLimit = await client.beta.messages.create(request({ max_tokens: maxOutputTokens }), { timeout: 60_000 });
    expect(atLimit.stop_reason).toBe('tool_use');
  });

  it("stops with model_context_window_exceeded above the requested model's context window", async () => {
    const small = Object.values(MODELS).find((m) => m.contextWindow < 1_000_000)!;
    const big = Object.values(MODELS).find((m) => m.contextWindow >= 1_000_000)!;
    // About 1.1x the smaller window, in the simulator's estimate of four characters a token.
    const messages: BetaMessageParam[] = [{ role: 'user', content: 'x'.repeat(small.contextWindow * 4.4) }];
    const exceeded = await client.beta.messages.create(request({ model: small.id, messages }));
    expect(exceeded).toMatchObject({ stop_reason: 'model_context_window_exceeded', content: [] });
    const fits = await client.beta.messages.create(request({ model: big.id, messages }));
    expect(fits.stop_reason).toBe('tool_use');
  });
});

describe('parameters', () => {
  it('refuses an unknown top-level parameter, naming it', async () => {
    const error = await rejection(
      client.beta.messages.create({ ...request(), temperature: 0.2 } as MessageCreateParamsNonStreaming),
    );
    expect(error).toBeInstanceOf(BadRequestError);
    expect(error.apiMessage).toBe('temperature: Extra inputs are not permitted');
    // count_tokens takes no max_tokens.
    const counted = await rejection(client.beta.messages.countTokens(request()));
    expect(counted.apiMessage).toBe('max_tokens: Extra inputs are not permitted');
  });

  it('accepts the SDK 1.12.0 body parameters a client may send', async () => {
    const reply = await client.beta.messages.create(
      request({
        metadata: { user_id: 'u-1' },
        service_tier: 'auto',
        stop_sequences: ['END'],
        tool_choice: { type: 'auto' },
        cache_control: { type: 'ephemeral' },
        diagnostics: { previous_message_id: null },
        inference_geo: null,
        container: null,
        output_config: { effort: 'high' },
      }),
    );
    expect(reply.stop_reason).toBe('tool_use');
  });

  it('merges consecutive turns of one role instead of refusing them', async () => {
    const merged = await client.beta.messages.create(
      request({
        messages: [
          { role: 'user', content: 'Start.' },
          { role: 'user', content: [{ type: 'text', text: 'And hurry.' }] },
        ],
      }),
    );
    expect(merged.stop_reason).toBe('tool_use');
    // A tool call answered in the second of two user messages is still unanswered.
    const call = merged.content.find((b) => b.type === 'tool_use')!;
    const answered: BetaMessageParam[] = [
      { role: 'user', content: 'Start.' },
      { role: 'assistant', content: merged.content as BetaContentBlockParam[] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: call.id, content: 'ok' }] },
      { role: 'user', content: 'Go on.' },
    ];
    expect((await client.beta.messages.create(request({ messages: answered }))).role).toBe('assistant');
  });
});

describe('max_tokens', () => {
  it('0 warms the cache: no content, stop_reason max_tokens, input counted and no output', async () => {
    const reply = await client.beta.messages.create(request({ max_tokens: 0 }));
    expect(reply.content).toEqual([]);
    expect(reply.stop_reason).toBe('max_tokens');
    expect(reply.usage.input_tokens).toBeGreaterThan(0);
    expect(reply.usage.output_tokens).toBe(0);
  });

  it('cuts a longer text where the budget ends, and drops a tool call that does not fit', async () => {
    const whole = await client.beta.messages.create(request({ system: system('Do something unknown.') }));
    const text = (whole.content[0] as { text: string }).text;
    expect(whole.stop_reason).toBe('end_turn');
    const cut = await client.beta.messages.create(request({ system: system('Do something unknown.'), max_tokens: 8 }));
    expect(cut.stop_reason).toBe('max_tokens');
    const cutText = (cut.content[0] as { text: string }).text;
    expect(cutText.length).toBeGreaterThan(0);
    expect(text.startsWith(cutText) && cutText.length < text.length).toBe(true);
    expect(cut.usage.output_tokens).toBeLessThanOrEqual(8);

    const long = system(`Reply with: ${'a long report '.repeat(200)}`);
    const dropped = await client.beta.messages.create(request({ system: long, max_tokens: 100 }));
    expect(dropped).toMatchObject({ stop_reason: 'max_tokens', content: [] });
    // Streamed alike.
    const streamed = await client.beta.messages.stream(request({ system: long, max_tokens: 100 })).finalMessage();
    expect(streamed).toMatchObject({ stop_reason: 'max_tokens', content: [] });
  });
});

describe('compaction requests and blocks', () => {
  const summarize = (extra: Record<string, unknown>) =>
    client.beta.messages.create({
      ...request(),
      betas: [SUMMARIZE_BETA],
      compaction: { type: 'summarize' },
      ...extra,
    } as MessageCreateParamsNonStreaming);

  it('refuses an on-demand block anywhere but first with compaction_block_misplaced', async () => {
    const block = await onDemandBlock();
    const first = await client.beta.messages.create({
      ...request({ messages: [{ role: 'assistant', content: [block] }] }),
      betas: [SUMMARIZE_BETA],
    });
    expect(first.stop_reason).toBe('tool_use');
    const error = await rejection(
      client.beta.messages.create({
        ...request({
          messages: [
            { role: 'user', content: 'Before.' },
            { role: 'assistant', content: [block] },
          ],
        }),
        betas: [SUMMARIZE_BETA],
      }),
    );
    expect(error).toBeInstanceOf(Anthropic.CompactionBlockMisplacedError);
    expect(error.errorCode).toBe('compaction_block_misplaced');
  });

  it('refuses a compaction request that ends on an unanswered tool call with compaction_incomplete_turn', async () => {
    const reply = await client.beta.messages.create(request());
    const error = await rejection(
      summarize({
        messages: [
          { role: 'user', content: 'Start.' },
          { role: 'assistant', content: reply.content },
        ],
      }),
    );
    expect(error).toBeInstanceOf(Anthropic.CompactionIncompleteTurnError);
    expect(error.errorCode).toBe('compaction_incomplete_turn');
  });

  it('refuses stop_sequences, a forced tool_choice, output_config.format and task_budget.remaining on a compaction request', async () => {
    const refused: Record<string, unknown>[] = [
      { stop_sequences: ['END'] },
      { tool_choice: { type: 'any' } },
      { tool_choice: { type: 'tool', name: 'echo' } },
      { output_config: { format: { type: 'json_schema', schema: { type: 'object' } } } },
      { output_config: { task_budget: { type: 'tokens', total: 100_000, remaining: 50_000 } } },
    ];
    for (const extra of refused) {
      const error = await rejection(summarize(extra));
      expect(error, JSON.stringify(extra)).toBeInstanceOf(BadRequestError);
      expect(error.apiMessage).toMatch(/not supported on a compaction request/);
    }
    // What the SDK's runner leaves in is fine.
    const allowed = await summarize({
      tool_choice: { type: 'auto' },
      output_config: { task_budget: { type: 'tokens', total: 100_000 } },
    });
    expect(allowed.stop_reason).toBe('compaction');
  });

  it('refuses instructions over 16,384 characters, on the summarize parameter and on the edit', async () => {
    const long = 'x'.repeat(16_385);
    const onDemand = await rejection(summarize({ compaction: { type: 'summarize', instructions: long } }));
    expect(onDemand).toBeInstanceOf(BadRequestError);
    expect(onDemand.apiMessage).toMatch(/^compaction\.instructions: at most 16384 characters/);
    const edit = (instructions: string) =>
      client.beta.messages.create({
        ...request(),
        betas: [COMPACTION_BETA],
        context_management: { edits: [{ type: 'compact_20260112', instructions }] },
      });
    expect((await rejection(edit(long))).apiMessage).toMatch(/instructions: at most 16384 characters/);
    expect((await edit(long.slice(1))).stop_reason).toBe('tool_use');
    const exact = await summarize({ compaction: { type: 'summarize', instructions: long.slice(1) } });
    expect(exact.stop_reason).toBe('compaction');
  });

  it('refuses compaction blocks sent without a compaction beta', async () => {
    const block = await onDemandBlock();
    const error = await rejection(
      client.beta.messages.create(request({ messages: [{ role: 'assistant', content: [block] }] })),
    );
    expect(error).toBeInstanceOf(BadRequestError);
    expect(error.apiMessage).toMatch(/compaction blocks require the anthropic-beta header/);
  });

  it('tells an edited block (compaction_content_mismatch) from a signature that does not verify', async () => {
    const block = await onDemandBlock();
    const resend = (changed: BetaCompactionBlock) =>
      client.beta.messages.create({
        ...request({ messages: [{ role: 'assistant', content: [changed] }] }),
        betas: [SUMMARIZE_BETA],
      });
    const edited = await rejection(resend({ ...block, content: `${block.content} And more.` }));
    expect(edited).toBeInstanceOf(Anthropic.CompactionContentMismatchError);
    expect(edited.errorCode).toBe('compaction_content_mismatch');
    const forged = await rejection(resend({ ...block, signature: `${block.signature}x` }));
    expect(forged).toBeInstanceOf(Anthropic.CompactionSignatureInvalidError);
    expect(forged.errorCode).toBe('compaction_signature_invalid');
  });

  it('streams on-demand compaction whole in content_block_start, threshold compaction in one compaction_delta', async () => {
    const events: BetaRawMessageStreamEvent[] = [];
    const stream = await client.beta.messages.create({
      ...request(),
      betas: [SUMMARIZE_BETA],
      compaction: { type: 'summarize' },
      stream: true,
    });
    for await (const event of stream) events.push(event);
    const start = events.find((e) => e.type === 'content_block_start');
    expect(start?.content_block).toMatchObject({ type: 'compaction', content: expect.any(String) });
    expect(events.some((e) => e.type === 'content_block_delta')).toBe(false);
    const final = await client.beta.messages
      .stream({ ...request(), betas: [SUMMARIZE_BETA], compaction: { type: 'summarize' } })
      .finalMessage();
    expect(final.content).toEqual([start?.content_block]);

    const big: BetaMessageParam[] = [{ role: 'user', content: `Start. ${'background '.repeat(20_000)}` }];
    const thresholdEvents: BetaRawMessageStreamEvent[] = [];
    const threshold = await client.beta.messages.create({
      ...request({ messages: big }),
      betas: [COMPACTION_BETA],
      context_management: { edits: [{ type: 'compact_20260112', trigger: { type: 'input_tokens', value: 50_000 } }] },
      stream: true,
    });
    for await (const event of threshold) thresholdEvents.push(event);
    const deltas = thresholdEvents.filter(
      (e) => e.type === 'content_block_delta' && e.index === 0 && e.delta.type === 'compaction_delta',
    );
    expect(deltas).toHaveLength(1);
  });

  it("lets the SDK's tool runner compactBeforeNextTurn() and go on after the block", async () => {
    const ran: string[] = [];
    const tool = (name: string) =>
      betaTool({
        name,
        description: name,
        inputSchema: { type: 'object', properties: {} },
        run: () => {
          ran.push(name);
          return 'ok';
        },
      });
    const compactions = sim.stats().compactions;
    const runner = client.beta.messages.toolRunner({
      model: DEFAULT_MODEL,
      max_tokens: 1024,
      system: system('[sim:call echo] {}'),
      tools: [tool('echo'), tool('finish')],
      messages: [{ role: 'user', content: 'Start.' }],
      betas: [SUMMARIZE_BETA],
      max_iterations: 4,
    });
    let turns = 0;
    for await (const message of runner) {
      expect(message.type).toBe('message');
      if (++turns === 1) runner.compactBeforeNextTurn();
    }
    expect(sim.stats().compactions).toBe(compactions + 1);
    // Echo before the compaction, echo again after it (the summary forgot it), then finish.
    expect(ran.slice(0, 3)).toEqual(['echo', 'echo', 'finish']);
    expect(runner.params.messages[0]).toMatchObject({ role: 'assistant', content: [{ type: 'compaction' }] });
    // The reply after the block was appended as a second assistant turn, which the API merges.
    expect(runner.params.messages[1]?.role).toBe('assistant');
  });
});

describe('threads', () => {
  it('continues a kept conversation, and refuses an unknown or already continued message', async () => {
    const betas = ['message-threads-2026-08-12'];
    const first = await client.beta.messages.create({ ...request(), betas, thread: { type: 'create' } });
    const call = first.content.find((b) => b.type === 'tool_use')!;
    const { system: _system, tools: _tools, ...withoutCreateOnly } = request();
    const next = {
      ...withoutCreateOnly,
      betas,
      messages: [
        { role: 'user' as const, content: [{ type: 'tool_result' as const, tool_use_id: call.id, content: 'ok' }] },
      ],
      thread: { type: 'continue' as const, previous_message_id: first.id },
    };
    // The kept system prompt (Reply with: done) and tool call make this a valid turn.
    expect((await client.beta.messages.create(next)).stop_reason).toBe('tool_use');
    expect(await rejection(client.beta.messages.create(next))).toBeInstanceOf(Anthropic.ThreadAlreadyContinuedError);
    const lost = await rejection(
      client.beta.messages.create({ ...next, thread: { type: 'continue', previous_message_id: 'msg_nonesuch' } }),
    );
    expect(lost).toBeInstanceOf(Anthropic.ThreadNotFoundError);
  });
});

describe('replies', () => {
  it('carry diagnostics null, and stop_details only on a refusal', async () => {
    const plain = await client.beta.messages.create(request());
    expect(plain.diagnostics).toBeNull();
    expect(plain.stop_details).toBeNull();
    const refusal = await client.beta.messages.create(request({ system: system('[sim:refuse]') }));
    expect(refusal.stop_reason).toBe('refusal');
    expect(refusal.stop_details).toEqual({
      type: 'refusal',
      category: null,
      explanation: null,
      fallback_credit_token: null,
      fallback_has_prefill_claim: null,
      recommended_model: null,
    });
    const streamed = await client.beta.messages.stream(request({ system: system('[sim:refuse]') })).finalMessage();
    expect(streamed.stop_details).toEqual(refusal.stop_details);
  });

  it('give identical requests different request, message and tool_use ids', async () => {
    const [a, b] = await Promise.all([
      client.beta.messages.create(request()).withResponse(),
      client.beta.messages.create(request()).withResponse(),
    ]);
    expect(a.request_id).toMatch(/^req_/);
    expect(a.request_id).not.toBe(b.request_id);
    expect(a.data.id).not.toBe(b.data.id);
    const toolId = (reply: typeof a.data) => reply.content.find((block) => block.type === 'tool_use')?.id;
    expect(toolId(a.data)).toMatch(/^toolu_/);
    expect(toolId(a.data)).not.toBe(toolId(b.data));
    expect({ ...a.data, id: '', content: [] }).toEqual({ ...b.data, id: '', content: [] });
  });
});

describe('faults', () => {
  it('a 409 is a ConflictError of type conflict_error', async () => {
    sim.injectFaults([{ status: 409, match: 'messages' }]);
    const error = await rejection(client.beta.messages.create(request()));
    expect(error).toBeInstanceOf(ConflictError);
    expect(error.type).toBe('conflict_error');
  });

  it('pauseTurn answers stop_reason pause_turn with no content', async () => {
    sim.injectFaults([{ pauseTurn: true }]);
    const paused = await client.beta.messages.create(request());
    expect(paused).toMatchObject({ stop_reason: 'pause_turn', content: [], stop_details: null });
    expect((await client.beta.messages.create(request())).stop_reason).toBe('tool_use');
  });

  it('streamErrorAfterEvents sends an overloaded error event midway: the SDK throws an APIError', async () => {
    sim.injectFaults([{ streamErrorAfterEvents: 3 }]);
    const stream = client.beta.messages.stream(request());
    const seen: string[] = [];
    stream.on('streamEvent', (event) => seen.push(event.type));
    const error = await rejection(stream.finalMessage());
    expect(error.status).toBeUndefined();
    expect(error.type).toBe('overloaded_error');
    expect(seen).toEqual(['message_start', 'content_block_start']);
  });

  /** A body cut after the headers is no APIError: the SDK's fetch fails with `terminated`, and nothing retries it. */
  const cutStream = async () => {
    const error = await client.beta.messages
      .stream(request())
      .finalMessage()
      .then(
        () => null,
        (err: unknown) => err,
      );
    expect(error).toBeInstanceOf(AnthropicError);
    expect(error).not.toBeInstanceOf(APIError);
    expect((error as Error).message).toBe('terminated');
  };

  it('cutStreamAfterEvents destroys the socket midway: the SDK throws AnthropicError "terminated"', async () => {
    sim.injectFaults([{ cutStreamAfterEvents: 3 }]);
    await cutStream();
    // Before any event, the SDK sees a response and no body either.
    sim.injectFaults([{ cutStreamAfterEvents: 0 }]);
    const before = await client.beta.messages
      .stream(request())
      .finalMessage()
      .then(
        () => null,
        (err: unknown) => err,
      );
    expect(before).toBeInstanceOf(AnthropicError);
  });

  it('stream faults wait for a streamed request: a plain one is answered as usual', async () => {
    sim.injectFaults([{ cutStreamAfterEvents: 1 }]);
    expect((await client.beta.messages.create(request())).stop_reason).toBe('tool_use');
    await cutStream();
  });
});
