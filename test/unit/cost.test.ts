import type Anthropic from '@anthropic-ai/sdk';
import { describe, expect, it } from 'vitest';
import { readUsage } from '../../activities/model.js';
import type { ModelCallResult } from '../../common/contracts.js';
import { callCost, formatUsd, nanosOfUsd, parsePriceOverrides, priceOf } from '../../common/cost.js';
import {
  cacheReadShare,
  contextTokens,
  countModelCall,
  logCompaction,
  tokensUsed,
  initialCounters,
  withCounterDefaults,
} from '../../common/counters.js';
import { modelSpec } from '../../common/models.js';
import { fromCarried, freshMemory, toCarried } from '../../workflows/memory.js';
import { optionsWith } from './fixtures.js';

const SONNET = 'claude-sonnet-5-5';
const price = modelSpec(SONNET)!.price;
/** Nano-dollars of `tokens` at `perMTok` dollars a million: the test's own arithmetic, in integers. */
const at = (tokens: number, perMTok: number) => tokens * Math.round(perMTok * 1000);

describe('callCost', () => {
  it('prices uncached input, 5-minute and 1-hour writes, reads and output each at its rate', () => {
    const usage = {
      inputTokens: 1_000,
      outputTokens: 500,
      cacheWriteTokens: 3_000,
      cacheWrite1hTokens: 1_000,
      cacheReadTokens: 40_000,
    };
    expect(callCost(SONNET, usage)).toBe(
      at(1_000, price.inputPerMTok) +
        at(2_000, price.cacheWrite5mPerMTok) +
        at(1_000, price.cacheWrite1hPerMTok) +
        at(40_000, price.cacheReadPerMTok) +
        at(500, price.outputPerMTok),
    );
    // A 1h write costs more than a 5m one: moving 1,000 tokens from 5m to 1h adds the difference.
    const all5m = callCost(SONNET, { ...usage, cacheWrite1hTokens: 0 })!;
    expect(callCost(SONNET, usage)! - all5m).toBe(at(1_000, price.cacheWrite1hPerMTok - price.cacheWrite5mPerMTok));
  });

  it('adds compaction iterations at their own tokens: input at the base rate, output at the output rate', () => {
    const base = { inputTokens: 100, outputTokens: 10 };
    const withCompaction = {
      ...base,
      compaction: { inputTokens: 60_000, outputTokens: 2_000, cacheReadTokens: 5_000 },
    };
    expect(callCost(SONNET, withCompaction)! - callCost(SONNET, base)!).toBe(
      at(60_000, price.inputPerMTok) + at(2_000, price.outputPerMTok) + at(5_000, price.cacheReadPerMTok),
    );
  });

  it('is exact: the sum of many calls is the cost of their tokens together, to the nano-dollar', () => {
    const one = { inputTokens: 3, outputTokens: 1, cacheReadTokens: 7 };
    const n = 10_000;
    const each = callCost('claude-haiku-5-5', one)!;
    expect(Number.isInteger(each)).toBe(true);
    const sum = Array.from({ length: n }, () => each).reduce((a, b) => a + b, 0);
    expect(sum).toBe(callCost('claude-haiku-5-5', { inputTokens: 3 * n, outputTokens: n, cacheReadTokens: 7 * n }));
  });

  it('uses a model’s long-prompt rates above their threshold (context = input + writes + reads)', () => {
    const haiku = modelSpec('claude-haiku-5-5')!;
    const long = haiku.longPrompt!;
    const short = { inputTokens: 1_000, outputTokens: 0, cacheReadTokens: long.overTokens - 1_000 };
    expect(callCost(haiku.id, short)).toBe(
      at(1_000, haiku.price.inputPerMTok) + at(long.overTokens - 1_000, haiku.price.cacheReadPerMTok),
    );
    const over = { ...short, inputTokens: 1_001 };
    expect(callCost(haiku.id, over)).toBe(
      at(1_001, long.price.inputPerMTok) + at(long.overTokens - 1_000, long.price.cacheReadPerMTok),
    );
  });

  it('has no price for a model the table does not know, unless an override gives one', () => {
    const usage = { inputTokens: 1_000_000, outputTokens: 1_000_000 };
    expect(priceOf('claude-sonnet-9')).toBeUndefined();
    expect(callCost('claude-sonnet-9', usage)).toBeUndefined();
    const overrides = {
      'claude-sonnet-9': {
        inputPerMTok: 1,
        outputPerMTok: 2,
        cacheWrite5mPerMTok: 0,
        cacheWrite1hPerMTok: 0,
        cacheReadPerMTok: 0,
      },
    };
    expect(callCost('claude-sonnet-9', usage, overrides)).toBe(3e9);
    // An override wins over the list price.
    expect(callCost(SONNET, usage, { [SONNET]: overrides['claude-sonnet-9'] })).toBe(3e9);
  });
});

describe('price overrides (LONGHAUL_PRICES)', () => {
  const good = {
    inputPerMTok: 3,
    outputPerMTok: 15,
    cacheWrite5mPerMTok: 3.75,
    cacheWrite1hPerMTok: 6,
    cacheReadPerMTok: 0.3,
  };

  it('reads a table of prices by model id', () => {
    expect(parsePriceOverrides(JSON.stringify({ m: good }))).toEqual({ ok: true, prices: { m: good } });
  });

  it.each([
    ['{', /^not JSON \(/],
    [JSON.stringify({ m: { ...good, cacheReadPerMTok: -1 } }), /^m\.cacheReadPerMTok: Too small/],
    [JSON.stringify({ m: { inputPerMTok: 3 } }), /^m\.outputPerMTok: /],
    [JSON.stringify({ m: { ...good, input: 3 } }), /^m: Unrecognized key: "input"/],
  ])('refuses %s with one line naming what is wrong', (json, error) => {
    const parsed = parsePriceOverrides(json);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) {
      expect(parsed.error).toMatch(error);
      expect(parsed.error).not.toContain('\n');
    }
  });
});

describe('formatUsd', () => {
  it.each([
    [0, '$0.0000'],
    [nanosOfUsd(0.0042), '$0.0042'],
    [nanosOfUsd(1.234), '$1.23'],
    [nanosOfUsd(1234.567), '$1,234.57'],
  ])('%d → %s', (nanos, text) => expect(formatUsd(nanos)).toBe(text));
});

type BetaUsage = Anthropic.Beta.Messages.BetaUsage;
const apiUsage = (over: Partial<BetaUsage>): BetaUsage =>
  ({
    input_tokens: 0,
    output_tokens: 0,
    cache_creation_input_tokens: null,
    cache_read_input_tokens: null,
    cache_creation: null,
    iterations: null,
    ...over,
  }) as BetaUsage;

describe('readUsage reads usage whole', () => {
  it('the cache fields and the 1-hour part of the writes', () => {
    const usage = readUsage(
      apiUsage({
        input_tokens: 12,
        output_tokens: 80,
        cache_creation_input_tokens: 900,
        cache_read_input_tokens: 40_000,
        cache_creation: { ephemeral_5m_input_tokens: 600, ephemeral_1h_input_tokens: 300 },
      }),
    );
    expect(usage).toEqual({
      inputTokens: 12,
      outputTokens: 80,
      cacheWriteTokens: 900,
      cacheWrite1hTokens: 300,
      cacheReadTokens: 40_000,
    });
    expect(contextTokens(usage)).toBe(40_912);
  });

  it('the answer from the last message iteration, compaction iterations summed with their cache fields', () => {
    const cache = (w: number, r: number) => ({
      cache_creation_input_tokens: w,
      cache_read_input_tokens: r,
      cache_creation: { ephemeral_5m_input_tokens: w, ephemeral_1h_input_tokens: 0 },
    });
    const usage = readUsage(
      apiUsage({
        input_tokens: 999,
        output_tokens: 999,
        iterations: [
          { type: 'compaction', input_tokens: 50_000, output_tokens: 1_500, ...cache(0, 4_000) },
          { type: 'message', input_tokens: 30, output_tokens: 70, model: null, ...cache(2_000, 0) },
        ],
      }),
    );
    expect(usage).toEqual({
      inputTokens: 30,
      outputTokens: 70,
      cacheWriteTokens: 2_000,
      compaction: { inputTokens: 50_000, outputTokens: 1_500, cacheReadTokens: 4_000 },
    });
  });

  it('without cache fields, as before: nothing new in the result', () => {
    expect(readUsage(apiUsage({ input_tokens: 5, output_tokens: 6 }))).toEqual({ inputTokens: 5, outputTokens: 6 });
  });
});

describe('counters', () => {
  const reply = (usage: ModelCallResult['usage'], costNanos?: number): ModelCallResult => ({
    head: 'sha256:h',
    instructionsRef: 'sha256:i',
    stateRef: null,
    stopReason: 'tool_use',
    usage,
    ...(costNanos !== undefined ? { costNanos } : {}),
    compaction: null,
    text: '',
    toolCalls: [],
  });

  it('count cache writes and reads, cost, unpriced calls, and the largest context with its cached part', () => {
    let c = countModelCall(
      initialCounters(),
      reply({ inputTokens: 10, outputTokens: 1, cacheWriteTokens: 5_000, cacheWrite1hTokens: 2_000 }, 700),
    );
    c = countModelCall(
      c,
      reply(
        {
          inputTokens: 20,
          outputTokens: 2,
          cacheReadTokens: 5_000,
          compaction: { inputTokens: 100, outputTokens: 3, cacheReadTokens: 50, cacheWriteTokens: 7 },
        },
        300,
      ),
    );
    c = countModelCall(c, reply({ inputTokens: 1, outputTokens: 1 }));
    expect(c).toMatchObject({
      modelCalls: 3,
      inputTokens: 31,
      cacheWriteTokens: 5_007,
      cacheWrite1hTokens: 2_000,
      cacheReadTokens: 5_050,
      costNanos: 1_000,
      unpricedCalls: 1,
      maxInputTokens: 5_020,
    });
    expect(cacheReadShare(c)).toBeCloseTo(5_050 / (31 + 100 + 5_007 + 5_050), 10);
    expect(cacheReadShare(initialCounters())).toBe(0);
  });

  it('count cached input towards the token budget, as the API processed it', () => {
    const c = countModelCall(
      initialCounters(),
      reply({ inputTokens: 10, outputTokens: 5, cacheWriteTokens: 100, cacheReadTokens: 1_000 }),
    );
    expect(tokensUsed(c)).toBe(1_115);
  });

  it("log a compaction's context before it whole, its cached part included", () => {
    const compacted: ModelCallResult = {
      ...reply({
        inputTokens: 30,
        outputTokens: 2,
        cacheReadTokens: 900,
        compaction: { inputTokens: 200, outputTokens: 40, cacheReadTokens: 51_000, cacheWriteTokens: 300 },
      }),
      compaction: { summarized: true, summaryChars: 160 },
    };
    expect(logCompaction([], 7, compacted)).toEqual([
      { turn: 7, inputTokensBefore: 51_500, inputTokensAfter: 930, summaryChars: 160 },
    ]);
  });

  it('carried from before the cache and cost counters existed, they count on from 0', () => {
    const {
      cacheWriteTokens: _w,
      cacheWrite1hTokens: _h,
      cacheReadTokens: _r,
      costNanos: _c,
      unpricedCalls: _u,
      ...old
    } = {
      ...initialCounters(),
      modelCalls: 7,
      inputTokens: 700,
    };
    const carried = { ...toCarried(freshMemory(optionsWith())), counters: old as never };
    const memory = fromCarried({ ...carried, state: freshMemory(optionsWith()).state });
    expect(memory.counters).toEqual(withCounterDefaults(old));
    const next = countModelCall(memory.counters, reply({ inputTokens: 1, outputTokens: 1, cacheReadTokens: 9 }, 5));
    expect(next).toMatchObject({ modelCalls: 8, cacheReadTokens: 9, costNanos: 5, unpricedCalls: 0 });
  });
});
