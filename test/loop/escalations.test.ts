import { describe, expect, it } from 'vitest';
import { answer } from '../../client/escalations.js';
import { awaitResult } from '../../client/export.js';
import { humanResponseSignal, progressQuery } from '../../common/messages.js';
import {
  call,
  FAST,
  finish,
  opened,
  resultOf,
  textBlock,
  toolError,
  until,
  use,
  useLoopEnv,
  waitFor,
} from '../helpers/scripted-model.js';

const loop = useLoopEnv();

const ask = () => call('escalate_to_human', { reason: 'the schema is ambiguous', question: 'Which database?' });
const write = () => call('write_file', { path: 'out.txt', content: 'x' }, { result: 'wrote out.txt' });

// The refusal, turn_cap and token_budget escalations are tested with their causes: stop-reasons and caps.
describe.concurrent('escalations', FAST, () => {
  it("model_request: escalate_to_human opens one with the model's reason and question; a reply is its tool result", async () => {
    const c = ask();
    const handle = await loop.start([use(c), finish('done')]);
    const escalation = await opened(handle, 'model_request');
    expect(escalation).toMatchObject({ id: 'esc-1', reason: 'the schema is ambiguous', question: 'Which database?' });
    await answer(loop.env.client, handle.workflowId, 'reply', { message: 'use staging' });
    const result = await awaitResult(handle);
    expect(result).toMatchObject({ status: 'completed', report: 'done' });
    expect(result.escalations.map((e) => [e.kind, e.outcome.decision, e.outcome.message])).toEqual([
      ['model_request', 'reply', 'use staging'],
    ]);
    expect(loop.model.sent(handle.workflowId)[1]!.input.append).toEqual([
      { type: 'tool_result', tool_use_id: c.id, content: 'A person replied: use staging' },
    ]);
  });

  it('model_request: approve is a plain tool result', async () => {
    const c = ask();
    const handle = await loop.start([use(c), finish('done')]);
    await opened(handle, 'model_request');
    await answer(loop.env.client, handle.workflowId, 'approve', {});
    expect((await awaitResult(handle)).status).toBe('completed');
    expect(loop.model.sent(handle.workflowId)[1]!.input.append).toEqual([
      { type: 'tool_result', tool_use_id: c.id, content: 'A person approved.' },
    ]);
  });

  it("model_request: deny is a tool error with the person's reason", async () => {
    const c = ask();
    const handle = await loop.start([use(c), finish('done')]);
    await opened(handle, 'model_request');
    await answer(loop.env.client, handle.workflowId, 'deny', { message: 'decide yourself' });
    const result = await awaitResult(handle);
    expect(result.counters.toolErrors).toBe(1);
    expect(loop.model.sent(handle.workflowId)[1]!.input.append).toEqual([
      toolError(c, 'A person declined: decide yourself'),
    ]);
  });

  it('model_request: invalid escalate_to_human input is a tool error and asks nobody', async () => {
    const c = call('escalate_to_human', { reason: 'why' });
    const handle = await loop.start([use(c), finish('done')]);
    const result = await awaitResult(handle);
    expect(result).toMatchObject({ status: 'completed', escalations: [] });
    expect(loop.model.sent(handle.workflowId)[1]!.input.append).toEqual([
      toolError(c, 'invalid escalate_to_human input: question: Invalid input: expected string, received undefined'),
    ]);
  });

  it('a refused answer (wrong decision for the kind) leaves the escalation open; the humanResponse signal records a bad one and acts on a good one', async () => {
    const handle = await loop.start([use(ask()), finish('never')]);
    await opened(handle, 'model_request');
    await expect(answer(loop.env.client, handle.workflowId, 'extend', { turns: 5 })).rejects.toThrow(
      'refused: extend does not answer a model_request escalation; use reply, approve, deny, stop',
    );
    await handle.signal(humanResponseSignal, { escalationId: 'esc-7', decision: 'approve' });
    const p = await until(handle, (p) => p.ignoredResponses.length === 1);
    expect(p.ignoredResponses[0]!.reason).toBe('no open escalation esc-7 (the open one is esc-1)');
    expect(p.escalation?.id).toBe('esc-1');
    await handle.signal(humanResponseSignal, {
      escalationId: 'esc-1',
      decision: 'stop',
      message: 'wrong task',
      by: 'ops',
    });
    const result = await awaitResult(handle);
    expect(result).toMatchObject({ status: 'stopped', reason: 'stopped by ops: wrong task' });
    expect(loop.model.sent(handle.workflowId)).toHaveLength(1);
  });

  it('tool_approval: a tool whose policy is approve waits, with the call held; approve runs it', async () => {
    const w = write();
    const handle = await loop.start([use(w), finish('done')]);
    const escalation = await opened(handle, 'tool_approval');
    expect(escalation).toMatchObject({
      reason: 'the model wants to run write_file',
      question: 'Approve write_file {"path":"out.txt","content":"x"}?',
      heldToolCall: { id: w.id, name: 'write_file', input: w.input },
    });
    expect(loop.model.toolRuns(handle.workflowId)).toEqual([]);
    await answer(loop.env.client, handle.workflowId, 'approve', {});
    expect((await awaitResult(handle)).status).toBe('completed');
    expect(loop.model.toolRuns(handle.workflowId).map((r) => r.call.name)).toEqual(['write_file']);
    expect(loop.model.sent(handle.workflowId)[1]!.input.append).toEqual([resultOf(w)]);
  });

  it("tool_approval: deny does not run the tool and gives the model a tool error with the reason (a run's own approve policy)", async () => {
    const d = call('deploy', { env: 'prod' });
    const handle = await loop.start([use(d), finish('done')], { toolPolicies: { deploy: 'approve' } });
    await opened(handle, 'tool_approval');
    await answer(loop.env.client, handle.workflowId, 'deny', { message: 'not on prod' });
    expect((await awaitResult(handle)).status).toBe('completed');
    expect(loop.model.toolRuns(handle.workflowId)).toEqual([]);
    expect(loop.model.sent(handle.workflowId)[1]!.input.append).toEqual([
      toolError(d, 'A person declined this deploy call: not on prod'),
    ]);
  });

  it('tool_approval: stop ends the run without running the tool', async () => {
    const handle = await loop.start([use(write()), finish('never')]);
    await opened(handle, 'tool_approval');
    await answer(loop.env.client, handle.workflowId, 'stop', {});
    const result = await awaitResult(handle);
    expect(result.status).toBe('stopped');
    expect(result.reason).toMatch(/^stopped by cli:/);
    expect(loop.model.toolRuns(handle.workflowId)).toEqual([]);
  });

  it('tool_approval: no answer by the deadline applies onTimeout (deny): the model is told nobody answered', async () => {
    const w = write();
    const handle = await loop.start([use(w), finish('done')], { escalation: { timeoutSeconds: 1 } });
    const result = await awaitResult(handle);
    expect(result.status).toBe('completed');
    expect(result.escalations.map((e) => [e.kind, e.outcome.decision, e.outcome.by])).toEqual([
      ['tool_approval', 'deny', 'timeout'],
    ]);
    expect(loop.model.toolRuns(handle.workflowId)).toEqual([]);
    expect(loop.model.sent(handle.workflowId)[1]!.input.append).toEqual([
      toolError(
        w,
        'Nobody answered this write_file call in time: No person answered within 1 s; the request is declined.',
      ),
    ]);
  });

  it('failures: maxConsecutiveFailures tool errors in a row ask a person; a reply is added for the model as "A person says"', async () => {
    const a = call('read_file', { path: 'a' }, { result: 'a does not exist', isError: true });
    const b = call('read_file', { path: 'b' }, { result: 'b does not exist', isError: true });
    const handle = await loop.start([use(a, b), finish('done')], { escalation: { maxConsecutiveFailures: 2 } });
    const escalation = await opened(handle, 'failures');
    expect(escalation.reason).toBe('2 failures in a row; the last: read_file: b does not exist');
    await answer(loop.env.client, handle.workflowId, 'reply', { message: 'the files are under src/' });
    const result = await awaitResult(handle);
    expect(result).toMatchObject({ status: 'completed', report: 'done' });
    expect(result.counters).toMatchObject({ turn: 2, toolErrors: 2, failuresInRow: 0 });
    expect(loop.model.sent(handle.workflowId)[1]!.input.append).toEqual([
      resultOf(a),
      resultOf(b),
      textBlock('A person says: the files are under src/'),
    ]);
  });

  it('failures: approve carries on with the count reset and nothing added for the model', async () => {
    const a = call('read_file', {}, { result: 'broken', isError: true });
    const b = call('read_file', {}, { result: 'fine' });
    const c = call('read_file', {}, { result: 'broken again', isError: true });
    const handle = await loop.start([use(a), use(b), use(c), finish('done')], {
      escalation: { maxConsecutiveFailures: 1 },
    });
    await opened(handle, 'failures');
    await answer(loop.env.client, handle.workflowId, 'approve', {});
    // The success in between ends the run of failures; the next error asks again.
    const second = await until(handle, (p) => p.escalation?.id === 'esc-2');
    expect(second.escalation).toMatchObject({
      kind: 'failures',
      reason: '1 failures in a row; the last: read_file: broken again',
    });
    await answer(loop.env.client, handle.workflowId, 'approve', {});
    expect((await awaitResult(handle)).status).toBe('completed');
    const appends = loop.model.sent(handle.workflowId).map((s) => s.input.append);
    expect(appends.slice(1)).toEqual([[resultOf(a)], [resultOf(b)], [resultOf(c)]]);
  });

  it('an escalation is posted to the webhook, and the run waits for the answer regardless', async () => {
    const handle = await loop.start([use(ask()), finish('done')], {
      escalation: { webhookUrl: 'https://hooks.invalid/longhaul' },
    });
    const notice = await waitFor(() => loop.model.notices.find((n) => n.workflowId === handle.workflowId));
    expect(notice).toMatchObject({
      url: 'https://hooks.invalid/longhaul',
      escalation: { id: 'esc-1', kind: 'model_request', question: 'Which database?' },
    });
    expect((await handle.query(progressQuery)).status).toBe('awaiting_human');
    await answer(loop.env.client, handle.workflowId, 'approve', {});
    expect((await awaitResult(handle)).status).toBe('completed');
  });
});
