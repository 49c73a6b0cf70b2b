import { describe, expect, it } from 'vitest';
import { awaitResult } from '../../client/export.js';
import { UNKNOWN_MODEL_ERROR } from '../../common/contracts.js';
import { call, FAST, fails, finish, reply, resultOf, useLoopEnv } from '../helpers/scripted-model.js';

const loop = useLoopEnv();
const TRIGGER = 50_000;
const compaction = { trigger: TRIGGER };
const compacted = reply({
  stopReason: 'compaction',
  usage: { inputTokens: 0, outputTokens: 0, compaction: { inputTokens: 51_000, outputTokens: 400 } },
  compaction: { summarized: true, summaryChars: 600, tokensAfter: 2_000 },
});
const usage = (inputTokens: number, cache: { cacheReadTokens?: number; cacheWriteTokens?: number } = {}) => ({
  inputTokens,
  outputTokens: 50,
  ...cache,
});

describe.concurrent('after an on-demand compaction, longhaul compacts at the trigger itself', FAST, () => {
  it('behind an on-demand block, a call whose context crossed the trigger is followed by an on-demand compaction, then a continue-as-new', async () => {
    const [a, b, c] = [call('read_file', { path: 'a' }), call('read_file', { path: 'b' }), call('read_file')];
    const handle = await loop.start(
      [
        reply({ calls: [a], onDemand: true, usage: usage(49_000) }),
        // The context counts what the cache read and wrote: 20K + 25K + 6K crosses 50K.
        reply({
          calls: [b],
          onDemand: true,
          usage: usage(20_000, { cacheReadTokens: 25_000, cacheWriteTokens: 6_000 }),
        }),
        compacted,
        reply({ calls: [c], onDemand: true, usage: usage(3_000) }),
        finish('done'),
      ],
      { compaction },
    );
    const result = await awaitResult(handle);
    expect(result).toMatchObject({
      status: 'completed',
      report: 'done',
      chain: { runNumber: 2, compactionsAtStart: 1 },
    });
    expect(result.counters).toMatchObject({ turn: 4, compactions: 1 });
    const sent = loop.model.sent(handle.workflowId);
    expect(sent.map((s) => [s.activity, s.input.turn])).toEqual([
      ['callModel', 1],
      ['callModel', 2],
      ['compactTranscript', 3],
      ['callModel', 3],
      ['callModel', 4],
    ]);
    // The compaction takes the turn's results in; the call after it goes on from the block alone.
    expect(sent[2]!.input).toMatchObject({ append: [resultOf(b)], head: sent[1]!.reply!.head });
    expect(sent[3]!.input).toMatchObject({ append: null, head: sent[2]!.reply!.head });
  });

  it('the due compaction is carried across a continue-as-new between the call and the next one', async () => {
    const calls = Array.from({ length: 10 }, (_, i) => call('read_file', { path: `f${i}` }));
    const steps = calls.map((c, i) => reply({ calls: [c], onDemand: true, usage: usage(i === 9 ? 52_000 : 10_000) }));
    const handle = await loop.start([...steps, compacted, finish('done')], { compaction, continueAsNewEvery: 10 });
    const result = await awaitResult(handle);
    expect(result).toMatchObject({ status: 'completed', chain: { runNumber: 2, turnsAtStart: 10 } });
    const sent = loop.model.sent(handle.workflowId);
    expect(sent.slice(9).map((s) => [s.activity, s.input.turn])).toEqual([
      ['callModel', 10],
      ['compactTranscript', 11],
      ['callModel', 11],
    ]);
  });

  it('no compaction of its own where the API compacts (no on-demand block), nor with compaction off', async () => {
    for (const [options, onDemand] of [
      [{ compaction }, undefined],
      [{ compaction: { enabled: false } }, true],
    ] as const) {
      const a = call('read_file');
      const handle = await loop.start(
        [reply({ calls: [a], usage: usage(60_000), ...(onDemand ? { onDemand } : {}) }), finish('done')],
        options,
      );
      expect(await awaitResult(handle)).toMatchObject({ status: 'completed', counters: { compactions: 0 } });
      expect(loop.model.sent(handle.workflowId).map((s) => s.activity)).toEqual(['callModel', 'callModel']);
    }
  });
});

describe.concurrent('a model the API does not know', FAST, () => {
  it('fails the run at its first call with the one line the activity gave, retrying and asking nobody', async () => {
    const line = 'the API does not know the model "claude-sonet-5-5" (404 not_found_error: model: claude-sonet-5-5)';
    const handle = await loop.start([fails(line, { type: UNKNOWN_MODEL_ERROR }), finish('never')], {
      escalation: { maxConsecutiveFailures: 3 },
    });
    const result = await awaitResult(handle);
    expect(result).toMatchObject({ status: 'failed', reason: line, escalations: [] });
    expect(loop.model.sent(handle.workflowId)).toHaveLength(1);
  });
});
