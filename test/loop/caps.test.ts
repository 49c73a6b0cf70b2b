import { describe, expect, it } from 'vitest';
import { answer } from '../../client/escalations.js';
import { awaitResult } from '../../client/export.js';
import { progressQuery } from '../../common/messages.js';
import {
  call,
  FAST,
  finish,
  LOOP_TEXT,
  opened,
  reply,
  resultOf,
  textBlock,
  use,
  useLoopEnv,
} from '../helpers/scripted-model.js';

const loop = useLoopEnv();

/** A turn that spends 1,050 tokens: over a budget of 1,000 after one turn. */
const costly = () => reply({ calls: [call('read_file')], usage: { inputTokens: 900, outputTokens: 150 } });

describe.concurrent('caps', FAST, () => {
  it('turn cap, onCap escalate, extend: the run goes on with the turns granted', async () => {
    const a = call('read_file');
    const handle = await loop.start([use(a), finish('done')], { maxTurns: 1 });
    const escalation = await opened(handle, 'turn_cap');
    expect(escalation).toMatchObject({
      reason: 'turn cap of 1 reached',
      question: 'Extend the run (turns and/or tokens) or stop it?',
    });
    expect((await handle.query(progressQuery)).status).toBe('awaiting_human');
    await answer(loop.env.client, handle.workflowId, 'extend', { turns: 2 });
    const result = await awaitResult(handle);
    expect(result).toMatchObject({ status: 'completed', report: 'done', maxTurns: 3 });
    expect(result.counters.turn).toBe(2);
    expect(result.escalations.map((e) => [e.kind, e.outcome.decision, e.outcome.turns])).toEqual([
      ['turn_cap', 'extend', 2],
    ]);
    expect(loop.model.sent(handle.workflowId)[1]!.input).toMatchObject({ turn: 2, append: [resultOf(a)] });
  });

  it('turn cap, onCap escalate, stop: the run stops with the cap and who stopped it', async () => {
    const handle = await loop.start([use(call('read_file')), finish('never')], { maxTurns: 1 });
    await opened(handle, 'turn_cap');
    await answer(loop.env.client, handle.workflowId, 'stop', { message: 'enough' });
    const result = await awaitResult(handle);
    expect(result.status).toBe('stopped');
    expect(result.reason).toMatch(/^turn cap of 1 reached; stopped by cli:.+: enough$/);
    expect(loop.model.sent(handle.workflowId)).toHaveLength(1);
  });

  it('token budget, onCap escalate, extend: the budget grows by the tokens granted and the run goes on', async () => {
    const handle = await loop.start([costly(), finish('done')], { tokenBudget: 1_000 });
    const escalation = await opened(handle, 'token_budget');
    expect(escalation.reason).toBe('token budget of 1000 reached (1050 used)');
    await answer(loop.env.client, handle.workflowId, 'extend', { tokens: 2_000 });
    const result = await awaitResult(handle);
    expect(result).toMatchObject({ status: 'completed', report: 'done' });
    expect(result.counters).toMatchObject({ turn: 2, inputTokens: 1_000, outputTokens: 160 });
    expect(result.escalations.map((e) => [e.kind, e.outcome.decision, e.outcome.tokens])).toEqual([
      ['token_budget', 'extend', 2_000],
    ]);
    expect((await handle.query(progressQuery)).tokenBudget).toBe(3_000);
  });

  it('token budget, onCap escalate, stop: the run stops with the budget and the tokens used', async () => {
    const handle = await loop.start([costly(), finish('never')], { tokenBudget: 1_000 });
    await opened(handle, 'token_budget');
    await answer(loop.env.client, handle.workflowId, 'stop', {});
    const result = await awaitResult(handle);
    expect(result.status).toBe('stopped');
    expect(result.reason).toMatch(/^token budget of 1000 reached \(1050 used\); stopped by cli:[^:]+$/);
  });

  it('onCap stop at the turn cap stops without asking', async () => {
    const handle = await loop.start([use(call('read_file')), use(call('read_file')), finish('never')], {
      maxTurns: 2,
      escalation: { onCap: 'stop' },
    });
    const result = await awaitResult(handle);
    expect(result).toMatchObject({ status: 'stopped', reason: 'turn cap of 2 reached', escalations: [] });
    expect(loop.model.sent(handle.workflowId)).toHaveLength(2);
  });

  it('onCap stop at the token budget stops without asking', async () => {
    const handle = await loop.start([costly(), finish('never')], { tokenBudget: 1_000, escalation: { onCap: 'stop' } });
    const result = await awaitResult(handle);
    expect(result).toMatchObject({
      status: 'stopped',
      reason: 'token budget of 1000 reached (1050 used)',
      escalations: [],
    });
    expect(loop.model.sent(handle.workflowId)).toHaveLength(1);
  });

  it('onCap wrap-up gives the model one more turn with the wrap-up note; finishing then completes the run', async () => {
    const a = call('read_file');
    const handle = await loop.start([use(a), finish('what I have')], { maxTurns: 1, escalation: { onCap: 'wrap-up' } });
    const result = await awaitResult(handle);
    expect(result).toMatchObject({ status: 'completed', report: 'what I have', escalations: [] });
    expect(result.counters.turn).toBe(2);
    expect(loop.model.sent(handle.workflowId)[1]!.input).toMatchObject({
      turn: 2,
      append: [resultOf(a), textBlock(LOOP_TEXT.wrapUp)],
    });
  });

  it('onCap wrap-up: a wrap-up turn that ends without finish stops the run', async () => {
    const handle = await loop.start([use(call('read_file')), use(call('read_file')), finish('too late')], {
      maxTurns: 1,
      escalation: { onCap: 'wrap-up' },
    });
    const result = await awaitResult(handle);
    expect(result).toMatchObject({
      status: 'stopped',
      reason: 'turn cap of 1 reached; the wrap-up turn ended without finish',
    });
    expect(result.report).toBeUndefined();
    expect(loop.model.sent(handle.workflowId)).toHaveLength(2);
  });
});
