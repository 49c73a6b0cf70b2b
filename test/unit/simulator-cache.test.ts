import { describe, expect, it } from 'vitest';
import {
  LOOKBACK_BLOCKS,
  prefixBlocks,
  PromptCache,
  TTL_MS,
  validateCacheControl,
  type CacheUsage,
} from '../../simulator/cache.js';
import { SimError } from '../../simulator/errors.js';
import type { CacheTtl, InputBlock, InputMessage } from '../../simulator/protocol.js';
import { estimateContextTokens } from '../../simulator/tokens.js';

const marker = (ttl?: CacheTtl) => ({ type: 'ephemeral', ...(ttl ? { ttl } : {}) });
const text = (value: string, ttl?: CacheTtl | 'mark'): InputBlock => ({
  type: 'text',
  text: value,
  ...(ttl ? { cache_control: marker(ttl === 'mark' ? undefined : ttl) } : {}),
});

interface Prompt {
  tools?: unknown[];
  system?: unknown;
  messages: InputMessage[];
  cacheControl?: CacheTtl | null;
}

const TOOLS = [
  { name: 'read_file', description: 'Read a file.', input_schema: { type: 'object' } },
  { name: 'list_files', description: 'List files.', input_schema: { type: 'object' } },
];
const LONG_SYSTEM = `You audit files. ${'Follow the rules closely. '.repeat(200)}`;
const question = (n: number): InputMessage => ({ role: 'user', content: [text(`Question ${n}?`)] });
const answer = (n: number): InputMessage => ({ role: 'assistant', content: [text(`Answer ${n}.`)] });

/** A prompt with a breakpoint on the system block and one on the last message block. */
function conversation(turns: number, systemTtl: CacheTtl = '5m', tailTtl: CacheTtl = '5m'): Prompt {
  const messages: InputMessage[] = [];
  for (let n = 0; n < turns; n++) messages.push(question(n), answer(n));
  messages.push({ role: 'user', content: [text(`Question ${turns}?`, tailTtl)] });
  return { tools: TOOLS, system: [text(LONG_SYSTEM, systemTtl)], messages };
}

const totalOf = (prompt: Prompt) => estimateContextTokens(prompt.system, prompt.tools, prompt.messages);

function serve(cache: PromptCache, prompt: Prompt, min = 100, model = 'claude-sonnet-5-5'): CacheUsage {
  const blocks = prefixBlocks(prompt.tools, prompt.system, prompt.messages, prompt.cacheControl ?? null);
  return cache.use(model, blocks, totalOf(prompt), min);
}

const written = (usage: CacheUsage) => usage.cacheWrite5mTokens + usage.cacheWrite1hTokens;
const sum = (usage: CacheUsage) => usage.inputTokens + usage.cacheReadInputTokens + written(usage);

function clockedCache() {
  const clock = { now: 1_000_000 };
  return { clock, cache: new PromptCache(() => clock.now) };
}

describe('PromptCache', () => {
  it('writes a prefix on the first request and reads the same prefix on a repeat', () => {
    const { cache } = clockedCache();
    const prompt = conversation(2);
    const first = serve(cache, prompt);
    expect(first.cacheReadInputTokens).toBe(0);
    expect(first.cacheWrite5mTokens).toBeGreaterThan(0);
    expect(sum(first)).toBe(totalOf(prompt));
    // The breakpoint is on the last block: only the closing brackets stay uncached.
    expect(first.inputTokens).toBeLessThanOrEqual(2);

    const again = serve(cache, prompt);
    expect(again).toEqual({
      inputTokens: first.inputTokens,
      cacheReadInputTokens: written(first),
      cacheWrite5mTokens: 0,
      cacheWrite1hTokens: 0,
    });
  });

  it('misses on a changed system prompt but still reads the tools before it', () => {
    const { cache } = clockedCache();
    const withToolMark = (system: string): Prompt => ({
      ...conversation(1),
      tools: [TOOLS[0], { ...TOOLS[1], cache_control: marker() }],
      system: [text(system, '5m')],
    });
    const first = serve(cache, withToolMark(LONG_SYSTEM), 10);
    const changed = serve(cache, withToolMark(`${LONG_SYSTEM} One more rule.`), 10);
    const toolsOnly = estimateContextTokens(undefined, TOOLS, []);
    expect(changed.cacheReadInputTokens).toBeGreaterThan(0);
    expect(changed.cacheReadInputTokens).toBeLessThanOrEqual(toolsOnly);
    expect(changed.cacheReadInputTokens).toBeLessThan(written(first) / 10);
    expect(written(changed)).toBeGreaterThan(0);
  });

  it('misses everything when a tool definition changes', () => {
    const { cache } = clockedCache();
    serve(cache, conversation(2));
    const changedTool = { ...conversation(2), tools: [TOOLS[0], { ...TOOLS[1], description: 'List all files.' }] };
    const usage = serve(cache, changedTool);
    expect(usage.cacheReadInputTokens).toBe(0);
    expect(sum(usage)).toBe(totalOf(changedTool));
  });

  it('reads the earlier conversation when a new turn follows it, and writes only the new part', () => {
    const { cache } = clockedCache();
    const first = serve(cache, conversation(2));
    const next = serve(cache, conversation(3));
    // The previous tail block changed nothing but moved its marker: lookback finds it.
    expect(next.cacheReadInputTokens).toBe(written(first));
    expect(written(next)).toBeGreaterThan(0);
    expect(written(next)).toBeLessThan(next.cacheReadInputTokens);
    expect(sum(next)).toBe(totalOf(conversation(3)));
  });

  it(`looks back ${LOOKBACK_BLOCKS} positions from a breakpoint, its own included, and no further`, () => {
    const blocks = (markAt: number) =>
      Array.from({ length: 30 }, (_, i) => text(`Part ${i} of the document.`, i === markAt ? '5m' : undefined));
    const prompt = (markAt: number): Prompt => ({
      system: [text(LONG_SYSTEM)],
      messages: [{ role: 'user', content: blocks(markAt) }],
    });
    for (const [distance, hits] of [
      [LOOKBACK_BLOCKS - 1, true],
      [LOOKBACK_BLOCKS, false],
    ] as const) {
      const { cache } = clockedCache();
      const early = serve(cache, prompt(5));
      const later = serve(cache, prompt(5 + distance));
      expect(later.cacheReadInputTokens).toBe(hits ? written(early) : 0);
      expect(sum(later)).toBe(totalOf(prompt(5 + distance)));
    }
  });

  it('caches nothing below the model minimum, without an error', () => {
    const { cache } = clockedCache();
    const prompt = conversation(1);
    const total = totalOf(prompt);
    expect(serve(cache, prompt, total + 1)).toEqual({
      inputTokens: total,
      cacheReadInputTokens: 0,
      cacheWrite5mTokens: 0,
      cacheWrite1hTokens: 0,
    });
    expect(serve(cache, prompt, total + 1).cacheReadInputTokens).toBe(0);
    expect(cache.size).toBe(0);
  });

  it('splits a write between its 1h and 5m parts, and a moved clock expires only the 5m entry', () => {
    const { clock, cache } = clockedCache();
    const prompt = conversation(2, '1h', '5m');
    const first = serve(cache, prompt);
    const systemPrefix = serve(new PromptCache(() => 0), { ...prompt, messages: [question(0)] });
    expect(first.cacheWrite1hTokens).toBe(written(systemPrefix));
    expect(first.cacheWrite5mTokens).toBeGreaterThan(0);

    clock.now += TTL_MS['5m'] + 1;
    const later = serve(cache, prompt);
    expect(later.cacheReadInputTokens).toBe(first.cacheWrite1hTokens);
    expect(later.cacheWrite5mTokens).toBe(first.cacheWrite5mTokens);
    expect(later.cacheWrite1hTokens).toBe(0);

    clock.now += TTL_MS['1h'] + 1;
    expect(serve(cache, prompt).cacheReadInputTokens).toBe(0);
  });

  it('refreshes an entry each time it is read', () => {
    const { clock, cache } = clockedCache();
    const prompt = conversation(1);
    const first = serve(cache, prompt);
    for (let i = 0; i < 3; i++) {
      clock.now += TTL_MS['5m'] - 1000;
      expect(serve(cache, prompt).cacheReadInputTokens).toBe(written(first));
    }
    clock.now += TTL_MS['5m'];
    expect(serve(cache, prompt).cacheReadInputTokens).toBe(0);
  });

  it('keeps one cache per model', () => {
    const { cache } = clockedCache();
    serve(cache, conversation(1), 100, 'claude-sonnet-5-5');
    expect(serve(cache, conversation(1), 100, 'claude-opus-5').cacheReadInputTokens).toBe(0);
  });

  it('puts the top-level breakpoint on the last cacheable block, so a growing conversation reads what it wrote', () => {
    const { cache } = clockedCache();
    const auto = (turns: number, thinking = true): Prompt => {
      const messages: InputMessage[] = [];
      for (let n = 0; n < turns; n++) messages.push(question(n), answer(n));
      const last = [text(`Question ${turns}?`)];
      messages.push({
        role: 'user',
        content: thinking ? [...last, { type: 'thinking', thinking: '', signature: 's' }] : last,
      });
      return { tools: TOOLS, system: LONG_SYSTEM, messages, cacheControl: '5m' };
    };
    const first = serve(cache, auto(1));
    expect(written(first)).toBeGreaterThan(0);
    // A thinking block cannot carry a breakpoint: the automatic one lands before it.
    expect(written(first)).toBe(written(serve(new PromptCache(() => 0), auto(1, false))));
    const next = serve(cache, auto(2));
    expect(next.cacheReadInputTokens).toBe(written(first));
  });

  it('finds entries only where a breakpoint wrote one: a breakpoint inside a longer entry reads the one before it', () => {
    const { cache } = clockedCache();
    const first = serve(cache, conversation(3));
    const markedEarlier = conversation(3);
    markedEarlier.messages = markedEarlier.messages.map((m, i) =>
      i === 2 ? { ...m, content: [text('Question 1?', '5m')] } : m,
    );
    markedEarlier.messages[markedEarlier.messages.length - 1] = question(3);
    const systemOnly = serve(new PromptCache(() => 0), { ...conversation(0), messages: [question(0)] });
    const earlier = serve(cache, markedEarlier);
    expect(earlier.cacheReadInputTokens).toBe(written(systemOnly));
    expect(written(earlier)).toBeGreaterThan(0);
    expect(earlier.cacheReadInputTokens + written(earlier)).toBeLessThan(written(first));
    // Markers are no input: the same content marked elsewhere is the same size.
    expect(totalOf(markedEarlier)).toBe(totalOf(conversation(3)));
  });

  it('reads consecutive messages of one role as the single turn the API makes of them', () => {
    const { cache } = clockedCache();
    const merged: Prompt = {
      system: [text(LONG_SYSTEM)],
      messages: [{ role: 'user', content: [text('First part.'), text('Second part.', '5m')] }],
    };
    const split: Prompt = {
      system: [text(LONG_SYSTEM)],
      messages: [
        { role: 'user', content: [text('First part.')] },
        { role: 'user', content: [text('Second part.', '5m')] },
      ],
    };
    const first = serve(cache, merged);
    const again = serve(cache, split);
    // All of it read, none written: the second message's own wrapper makes this prompt a little longer.
    expect(written(again)).toBe(0);
    expect(again.cacheReadInputTokens).toBeGreaterThanOrEqual(written(first));
    expect(again.inputTokens).toBe(first.inputTokens);
  });

  it("reads a message sent as a string from the entry its text block wrote, at this request's size", () => {
    const { cache } = clockedCache();
    const asBlock = conversation(1);
    const first = serve(cache, asBlock);
    const asString: Prompt = {
      ...asBlock,
      messages: [...asBlock.messages.slice(0, -1), { role: 'user', content: 'Question 1?' }, answer(1), question(2)],
    };
    asString.messages[asString.messages.length - 1] = { role: 'user', content: [text('Question 2?', '5m')] };
    const next = serve(cache, asString);
    // The string is the same block to the cache; the estimate counts its shorter JSON.
    expect(next.cacheReadInputTokens).toBeGreaterThan(written(first) - 10);
    expect(next.cacheReadInputTokens).toBeLessThan(written(first));
    expect(sum(next)).toBe(totalOf(asString));
  });
});

describe('validateCacheControl', () => {
  const body = (count: number, topLevel?: object) => ({
    system: [text(LONG_SYSTEM, 'mark')],
    messages: [{ role: 'user', content: Array.from({ length: count - 1 }, (_, i) => text(`Part ${i}`, 'mark')) }],
    ...(topLevel ? { cache_control: topLevel } : {}),
  });
  const rejection = (value: Record<string, unknown>) => {
    try {
      validateCacheControl(value);
    } catch (err) {
      return err as SimError;
    }
    throw new Error('expected a rejection');
  };

  it('takes four breakpoints and refuses a fifth, the top-level one counting', () => {
    expect(validateCacheControl(body(4))).toBeNull();
    expect(validateCacheControl(body(3, marker()))).toBe('5m');
    for (const fifth of [body(5), body(4, marker())]) {
      const error = rejection(fifth);
      expect(error.status).toBe(400);
      expect(error.errorType).toBe('invalid_request_error');
      expect(error.message).toBe('A maximum of 4 blocks with cache_control may be provided. Found 5.');
    }
  });

  it('refuses a 1h breakpoint after a 5m one, in tools, system, messages order', () => {
    const ok = { tools: [{ name: 't', cache_control: marker('1h') }], system: [text('s', '5m')], messages: [] };
    expect(validateCacheControl(ok)).toBeNull();
    const late = { tools: [{ name: 't', cache_control: marker() }], system: [text('s', '1h')], messages: [] };
    expect(rejection(late).message).toMatch(/ttl='1h' cache_control block must not come after a ttl='5m'/);
    expect(rejection({ ...body(2), cache_control: marker('1h') }).status).toBe(400);
  });

  it('counts markers inside a tool_result and refuses malformed ones', () => {
    const nested = {
      messages: [
        {
          role: 'user',
          content: [{ type: 'tool_result', tool_use_id: 'x', content: [text('a', 'mark'), text('b', '1h')] }],
        },
      ],
    };
    expect(rejection(nested).message).toMatch(/must not come after/);
    const where = (cache_control: unknown) =>
      rejection({ messages: [{ role: 'user', content: [{ type: 'text', text: 'a', cache_control }] }] }).message;
    expect(where({ type: 'persistent' })).toBe("messages.0.content.0.cache_control.type: Input should be 'ephemeral'");
    expect(where({ type: 'ephemeral', ttl: '10m' })).toBe(
      "messages.0.content.0.cache_control.ttl: Input should be '5m' or '1h'",
    );
    expect(where({ type: 'ephemeral', scope: 'global' })).toMatch(
      /cache_control.scope: Extra inputs are not permitted/,
    );
    expect(rejection({ messages: [{ role: 'user', content: [text('', 'mark')] }] }).message).toMatch(
      /cannot be set for empty text blocks/,
    );
    expect(
      validateCacheControl({
        messages: [{ role: 'user', content: [{ type: 'text', text: 'a', cache_control: null }] }],
      }),
    ).toBeNull();
  });
});
