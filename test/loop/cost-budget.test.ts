import { describe, expect, it } from 'vitest';
import { answer } from '../../client/escalations.js';
import { awaitResult } from '../../client/export.js';
import { progressQuery } from '../../common/messages.js';
import { call, FAST, finish, opened, reply, type Handle, useLoopEnv } from '../helpers/scripted-model.js';

const loop = useLoopEnv();

/**
 * A turn as a cached call reports it, at the default model's list price (claude-sonnet-5-5: $2
 * input, $10 output, $2.50 5m write, $4 1h write, $0.10 read a million tokens): 50 uncached
 * ($0.0001), 1,000 written for 5m ($0.0025) and 1,000 for 1h ($0.004), 40,000 read ($0.004), 200
 * out ($0.002): $0.0126.
 */
const cachedTurn = () =>
  reply({
    calls: [call('read_file')],
    usage: {
      inputTokens: 50,
      outputTokens: 200,
      cacheWriteTokens: 2_000,
      cacheWrite1hTokens: 1_000,
      cacheReadTokens: 40_000,
    },
  });
const TURN_NANOS = 12_600_000;
/** The scripted finish reply's default usage, 100 in and 10 out: $0.0003. */
const FINISH_NANOS = 300_000;

/** What the calls the run made cost, each as the model activity priced it. */
const sumOfCalls = (handle: Handle) =>
  loop.model.sent(handle.workflowId).reduce((n, s) => n + (s.reply?.costNanos ?? 0), 0);

describe.concurrent('dollar budget', FAST, () => {
  it('onCap escalate at budgetUsd, extend --usd: the run goes on, and its cost is the sum of its calls', async () => {
    const handle = await loop.start([cachedTurn(), cachedTurn(), finish('done')], { budgetUsd: 0.02 });
    const escalation = await opened(handle, 'cost_budget');
    expect(escalation).toMatchObject({
      reason: 'cost budget of $0.0200 reached ($0.0252 spent)',
      question: 'Extend the run (dollars: extend --usd N) or stop it?',
    });
    expect(loop.model.sent(handle.workflowId)).toHaveLength(2);
    await answer(loop.env.client, handle.workflowId, 'extend', { usd: 0.01 });
    const result = await awaitResult(handle);
    expect(result).toMatchObject({ status: 'completed', report: 'done' });
    expect(result.counters.costNanos).toBe(2 * TURN_NANOS + FINISH_NANOS);
    expect(result.counters.costNanos).toBe(sumOfCalls(handle));
    expect(result.counters).toMatchObject({ cacheWriteTokens: 4_000, cacheReadTokens: 80_000, unpricedCalls: 0 });
    expect(result.escalations.map((e) => [e.kind, e.outcome.decision, e.outcome.usd])).toEqual([
      ['cost_budget', 'extend', 0.01],
    ]);
    expect((await handle.query(progressQuery)).budgetUsd).toBeCloseTo(0.03, 12);
  });

  it('an extend without dollars is refused with its reason, and the run keeps waiting', async () => {
    const handle = await loop.start([cachedTurn(), finish('never')], { budgetUsd: 0.01 });
    await opened(handle, 'cost_budget');
    await expect(answer(loop.env.client, handle.workflowId, 'extend', { tokens: 1_000 })).rejects.toThrow(
      'refused: extend of a cost budget needs usd > 0',
    );
    await answer(loop.env.client, handle.workflowId, 'stop', {});
    const result = await awaitResult(handle);
    expect(result.reason).toMatch(/^cost budget of \$0\.0100 reached \(\$0\.0126 spent\); stopped by cli:/);
  });

  it('onCap stop at budgetUsd stops without asking, across a continue-as-new, at the sum of its calls', async () => {
    // 10 turns a Temporal run: the budget of $0.15 is reached in the chain's second run, at turn 12.
    const steps = Array.from({ length: 14 }, cachedTurn);
    const handle = await loop.start(steps, {
      budgetUsd: 0.15,
      continueAsNewEvery: 10,
      escalation: { onCap: 'stop' },
    });
    const result = await awaitResult(handle);
    expect(result).toMatchObject({
      status: 'stopped',
      reason: 'cost budget of $0.1500 reached ($0.1512 spent)',
      escalations: [],
    });
    expect(result.chain.runNumber).toBe(2);
    expect(result.counters.turn).toBe(12);
    expect(result.counters.costNanos).toBe(12 * TURN_NANOS);
    expect(result.counters.costNanos).toBe(sumOfCalls(handle));
  });
});
