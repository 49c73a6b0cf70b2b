import { describe, expect, it } from 'vitest';
import { answer } from '../../client/escalations.js';
import { awaitResult } from '../../client/export.js';
import { CLOSED_TEXT_CHARS } from '../../common/escalation.js';
import { call, FAST, finish, opened, resultOf, toolError, until, use, useLoopEnv } from '../helpers/scripted-model.js';

const loop = useLoopEnv();

/** A deploy call as the model activity hands it over: the worker's approval decision on it, if any. */
const deploy = (target: string, approval: { needsApproval?: false; approvalDetail?: string } = {}) => ({
  ...call('deploy', { target }, { result: `deployed to ${target}` }),
  display: `deploy target="${target}"`,
  ...approval,
});
const approvePolicy = { toolPolicies: { deploy: 'approve' as const } };

// The worker's decision (ToolCall.needsApproval, approvalDetail) is recorded in the model call's
// result; the workflow only reads it.
describe.concurrent('approval per call', FAST, () => {
  it("under 'approve' a call the worker waived runs at once; a held one shows its detail below its line, and runs once approved", async () => {
    const staging = deploy('staging', { needsApproval: false });
    const prod = deploy('prod', { approvalDetail: 'release 1.2 goes to prod\nbuilt from /ws' });
    const handle = await loop.start([use(staging, prod), finish('done')], approvePolicy);
    const escalation = await opened(handle, 'tool_approval');
    // The model call is told which tools the run holds (their calls are the ones the worker decides).
    expect(loop.model.sent(handle.workflowId)[0]!.input.approveTools).toEqual(['deploy', 'write_file']);
    expect(escalation).toMatchObject({
      id: 'esc-1',
      question: 'Approve deploy target="prod"?\nrelease 1.2 goes to prod\nbuilt from /ws',
      heldToolCall: { id: prod.id, name: 'deploy', input: { target: 'prod' } },
    });
    // The question holds the detail; the held call does not carry it twice.
    expect(escalation.heldToolCall).not.toHaveProperty('approvalDetail');
    expect(loop.model.toolRuns(handle.workflowId).map((r) => [r.call.id, r.approvedBy])).toEqual([
      [staging.id, undefined],
    ]);
    const { memo } = await handle.describe();
    // The memo (the Web UI's summary) keeps to the call's line.
    expect(memo).toMatchObject({ waitingOnPerson: 'tool_approval esc-1: Approve deploy target="prod"?' });

    await answer(loop.env.client, handle.workflowId, 'approve', {});
    const result = await awaitResult(handle);
    expect(result.status).toBe('completed');
    const runs = loop.model.toolRuns(handle.workflowId);
    expect(runs.map((r) => [r.call.id, r.approvedBy])).toEqual([
      [staging.id, undefined],
      [prod.id, 'esc-1'],
    ]);
    // The detail is for the person: the tool's activity input does not carry it.
    expect(runs[1]!.call).not.toHaveProperty('approvalDetail');
    expect(result.escalations).toHaveLength(1);
    expect(loop.model.sent(handle.workflowId)[1]!.input.append).toEqual([resultOf(staging), resultOf(prod)]);
  });

  it('several held calls of one reply are asked one after another, each saying which it is; a deny answers one call', async () => {
    const [a, b, c] = [deploy('a'), deploy('b'), deploy('c')];
    const read = call('read_file', { path: 'x' }, { result: 'x says hi', sideEffectFree: true });
    const handle = await loop.start([use(a, read, b, c), finish('done')], approvePolicy);
    const asked = async (id: string) => (await until(handle, (p) => p.escalation?.id === id)).escalation!;
    expect((await asked('esc-1')).question).toBe('Approve deploy target="a"? (call 1 of 3 held in this reply)');
    await answer(loop.env.client, handle.workflowId, 'approve', {});
    // The read between them ran before the person is asked about b, with a's result in place.
    expect((await asked('esc-2')).question).toBe('Approve deploy target="b"? (call 2 of 3 held in this reply)');
    expect(loop.model.toolRuns(handle.workflowId).map((r) => r.call.id)).toEqual([a.id, read.id]);
    await answer(loop.env.client, handle.workflowId, 'deny', { message: 'not b' });
    expect((await asked('esc-3')).question).toBe('Approve deploy target="c"? (call 3 of 3 held in this reply)');
    await answer(loop.env.client, handle.workflowId, 'approve', {});
    expect((await awaitResult(handle)).status).toBe('completed');
    const runs = loop.model.toolRuns(handle.workflowId);
    expect(runs.map((r) => [r.call.id, r.approvedBy])).toEqual([
      [a.id, 'esc-1'],
      [read.id, undefined],
      [c.id, 'esc-3'],
    ]);
    expect(loop.model.sent(handle.workflowId)[1]!.input.append).toEqual([
      resultOf(a),
      resultOf(read),
      toolError(b, 'A person declined this deploy call: not b'),
      resultOf(c),
    ]);
  });

  it('a denied held call does not run, and the model is told why', async () => {
    const prod = deploy('prod', { approvalDetail: 'release 1.2 goes to prod' });
    const handle = await loop.start([use(prod), finish('done')], approvePolicy);
    await opened(handle, 'tool_approval');
    await answer(loop.env.client, handle.workflowId, 'deny', { message: 'freeze week' });
    expect((await awaitResult(handle)).status).toBe('completed');
    expect(loop.model.toolRuns(handle.workflowId)).toEqual([]);
    expect(loop.model.sent(handle.workflowId)[1]!.input.append).toEqual([
      toolError(prod, 'A person declined this deploy call: freeze week'),
    ]);
  });

  it("'allow' never holds (a detail or not); 'deny' refuses even a call the worker waived", async () => {
    const detailed = deploy('prod', { approvalDetail: 'release 1.2 goes to prod' });
    const allowed = await loop.start([use(detailed), finish('done')], { toolPolicies: { deploy: 'allow' } });
    const waived = deploy('staging', { needsApproval: false });
    const denied = await loop.start([use(waived), finish('done')], { toolPolicies: { deploy: 'deny' } });
    expect(await awaitResult(allowed)).toMatchObject({ status: 'completed', escalations: [] });
    expect(loop.model.sent(allowed.workflowId)[0]!.input.approveTools).toEqual(['write_file']);
    expect(loop.model.toolRuns(allowed.workflowId).map((r) => r.call.id)).toEqual([detailed.id]);
    expect(await awaitResult(denied)).toMatchObject({ status: 'completed', escalations: [] });
    expect(loop.model.toolRuns(denied.workflowId)).toEqual([]);
    expect(loop.model.sent(denied.workflowId)[1]!.input.append).toEqual([
      toolError(waived, 'deploy is not allowed in this run'),
    ]);
  });

  it("a call with no decision (its tool has no needsApproval, or a run recorded before) is held under 'approve'", async () => {
    const plain = deploy('prod');
    const handle = await loop.start([use(plain), finish('done')], approvePolicy);
    expect((await opened(handle, 'tool_approval')).question).toBe('Approve deploy target="prod"?');
    await answer(loop.env.client, handle.workflowId, 'approve', {});
    await awaitResult(handle);
    expect(loop.model.toolRuns(handle.workflowId).map((r) => r.approvedBy)).toEqual(['esc-1']);
  });

  it('a long detail is bounded in the closed escalation the memory carries', async () => {
    const prod = deploy('prod', { approvalDetail: `diff\n${'+line\n'.repeat(600)}` });
    const handle = await loop.start([use(prod), finish('done')], approvePolicy);
    await opened(handle, 'tool_approval');
    await answer(loop.env.client, handle.workflowId, 'approve', {});
    const [closed] = (await awaitResult(handle)).escalations;
    expect(closed!.question.length).toBeLessThanOrEqual(CLOSED_TEXT_CHARS + 1);
    expect(closed!.question.startsWith('Approve deploy target="prod"?\ndiff\n+line')).toBe(true);
    expect(closed!.heldToolCall).toEqual({ id: prod.id, name: 'deploy', input: { target: 'prod' } });
  });
});
