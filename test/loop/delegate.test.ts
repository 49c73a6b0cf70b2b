import { WorkflowFailedError } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { answer, listPending, stopRun } from '../../client/escalations.js';
import { awaitResult } from '../../client/export.js';
import { UNKNOWN_MODEL_ERROR } from '../../common/contracts.js';
import { childWorkflowId } from '../../common/delegation.js';
import type { AgentRunWorkflow } from '../../common/messages.js';
import { cli } from '../helpers/cli.js';
import {
  call,
  fails,
  FAST,
  finish,
  opened,
  reply,
  use,
  useLoopEnv,
  waitFor,
  type Handle,
} from '../helpers/scripted-model.js';

// A lead agent that may delegate to readers and writers; the children run on the same worker.
const loop = useLoopEnv({
  lead: { delegation: { agents: ['reader', 'writer'] } },
  reader: {},
  writer: {},
});

let seq = 0;
const newId = (what: string) => `delegate-${what}-${++seq}-${Date.now()}`;
const delegate = (input: Record<string, unknown>) => call('delegate', input);
const lead = { agent: 'lead' };
const handleOf = (workflowId: string): Handle => loop.env.client.workflow.getHandle<AgentRunWorkflow>(workflowId);
/** The child's handle once the parent has started it. */
const started = async (workflowId: string): Promise<Handle> => {
  const handle = handleOf(workflowId);
  await waitFor(() =>
    handle.describe().then(
      () => true,
      () => undefined,
    ),
  );
  return handle;
};
/** The tool results the parent's model call of this turn was given. */
const resultsAt = (workflowId: string, turn: number) =>
  loop.model.sent(workflowId).find((s) => s.input.turn === turn)!.input.append!;

describe.concurrent('sub-agents: the delegate tool starts child runs', FAST, () => {
  it("two children that finish: their reports come back as tool results, and the parent's totals add theirs", async () => {
    const workflowId = newId('two');
    const [first, second] = [childWorkflowId(workflowId, 1), childWorkflowId(workflowId, 2)];
    loop.model.script(first, [use(call('read_file', { path: 'a' }, { result: 'A' })), finish('report A')]);
    const long = `report B: ${'x'.repeat(2_000)}`;
    loop.model.script(second, [finish(long)]);
    const a = delegate({ agent: 'reader', task: 'read part A', workspace: 'a' });
    const b = delegate({ agent: 'writer', task: 'read part B\nin detail' });
    const handle = await loop.start([use(a, b), finish('merged')], lead, { workflowId });
    const result = await awaitResult(handle);
    expect(result).toMatchObject({ status: 'completed', report: 'merged' });
    // Each child ran as its own agentRun: its task and workspace, its agent, linked to its parent.
    const [childA, childB] = [loop.model.sent(first), loop.model.sent(second)];
    expect(childA[0]!.input).toMatchObject({ agent: 'reader', workspace: '/scripted-workspace/a' });
    expect(childB[0]!.input).toMatchObject({ agent: 'writer', workspace: '/scripted-workspace' });
    expect(loop.model.toolRuns(first).map((r) => r.workspace)).toEqual(['/scripted-workspace/a']);
    // The parent is offered delegate; its children (the last level) are not.
    expect(loop.model.sent(workflowId)[0]!.input.delegation).toEqual({ agents: ['reader', 'writer'] });
    expect(childA[0]!.input).not.toHaveProperty('delegation');

    const results = resultsAt(workflowId, 2);
    expect(results[0]).toMatchObject({
      tool_use_id: a.id,
      content: expect.stringMatching(/^sub-agent .*\.sub-1 \(agent reader\) completed: 2 turns, \$[\d.]+\n\nreport A$/),
    });
    expect(results[0]).not.toHaveProperty('is_error');
    // The long report went to the store; the parent keeps a reference.
    const ref = (results[1] as { contentRef: string }).contentRef;
    expect(ref).toMatch(/^sha256:result#/);
    expect(loop.model.storedResults.get(ref)).toMatch(/completed: 1 turns, .*\n\nreport B: x+$/);

    expect(result.children!.map((c) => [c.workflowId, c.agent, c.task, c.status, c.counters.turn])).toEqual([
      [first, 'reader', 'read part A', 'completed', 2],
      [second, 'writer', 'read part B', 'completed', 1],
    ]);
    const own = result.counters;
    const kids = result.children!.map((c) => c.counters);
    expect(result.totals).toMatchObject({
      turn: own.turn + 3,
      modelCalls: own.modelCalls + 3,
      inputTokens: own.inputTokens + kids[0]!.inputTokens + kids[1]!.inputTokens,
      outputTokens: own.outputTokens + kids[0]!.outputTokens + kids[1]!.outputTokens,
      costNanos: own.costNanos + kids[0]!.costNanos + kids[1]!.costNanos,
      toolCalls: own.toolCalls + 3,
    });
    expect(kids[0]!.costNanos).toBeGreaterThan(0);
    // Seen as one run: the parent's memo counts its children, each child's names its parent.
    expect((await handle.describe()).memo).toMatchObject({ children: { count: 2, running: 0, turns: 3 } });
    expect((await handleOf(first).describe()).memo).toMatchObject({ parent: workflowId });
    // `longhaul status` of the parent lists both children and the totals with theirs.
    const status = await cli(loop.env.address, 'unused', ['status', workflowId]);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(new RegExp(`${first.replaceAll('.', '\\.')} +reader +completed +2 `));
    expect(status.stdout).toMatch(new RegExp(`${second.replaceAll('.', '\\.')} +writer +completed +1 `));
    expect(status.stdout).toContain(`totals with 2 sub-agents: ${result.totals!.turn} turns`);
  });

  it("a child gets a share of what is left of the budget, and the parent's token cap counts the child's spending", async () => {
    const workflowId = newId('budget');
    const spend = (inputTokens: number) => ({ inputTokens, outputTokens: 0 });
    loop.model.script(childWorkflowId(workflowId, 1), [
      reply({ calls: [call('read_file', { path: 'a' })], usage: spend(4_000) }),
      reply({ calls: [call('read_file', { path: 'b' })], usage: spend(6_000) }),
      finish('never reached'),
    ]);
    const handle = await loop.start(
      [use(delegate({ agent: 'reader', task: 'spend' })), finish('never reached either')],
      { ...lead, tokenBudget: 10_000, escalation: { onCap: 'stop' } },
      { workflowId },
    );
    const result = await awaitResult(handle);
    // Half of what the parent's first call (110 tokens) left; the child stops at it, with the parent's onCap.
    expect(result.children![0]).toMatchObject({
      status: 'stopped',
      given: { tokenBudget: 4_945 },
      reason: expect.stringContaining('token budget of 4945 reached'),
    });
    expect(result.totals!.inputTokens).toBe(result.counters.inputTokens + 10_000);
    expect(result).toMatchObject({
      status: 'stopped',
      reason: expect.stringContaining('token budget of 10000 reached'),
    });
  });

  it('refused calls are tool errors the model reads: unknown agent, `..`, bad input, past maxChildren', async () => {
    const workflowId = newId('limits');
    loop.model.script(childWorkflowId(workflowId, 1), [finish('one')]);
    const calls = [
      delegate({ agent: 'admin', task: 't' }),
      delegate({ agent: 'reader', task: 't', workspace: '../elsewhere' }),
      delegate({ agent: 'reader' }),
      delegate({ agent: 'reader', task: 'the one allowed' }),
      delegate({ agent: 'reader', task: 'one too many' }),
    ];
    const handle = await loop.start(
      [use(...calls), finish('done')],
      { ...lead, delegation: { agents: ['reader'], maxChildren: 1 } },
      { workflowId },
    );
    const result = await awaitResult(handle);
    expect(result.status).toBe('completed');
    const results = resultsAt(handle.workflowId, 2) as { content: string; is_error?: boolean }[];
    expect(results.map((r) => [r.is_error ?? false, r.content.split('\n')[0]])).toEqual([
      [true, 'agent "admin" is not one this run may delegate to; it may: reader'],
      [true, 'workspace "../elsewhere": .. is not allowed: a sub-agent works inside your workspace'],
      [true, expect.stringMatching(/^invalid delegate input: task: /)],
      [false, expect.stringMatching(/completed: 1 turns/)],
      [true, 'this run has started 1 sub-agents, its limit (delegation.maxChildren); do the rest yourself'],
    ]);
    expect(result.children).toHaveLength(1);
  });

  it('a run that asks for delegation its agent does not allow is refused at start', async () => {
    const handle = await loop.start([finish('never')], { agent: 'reader', delegation: { agents: ['writer'] } });
    const failure = await awaitResult(handle).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    expect((failure as WorkflowFailedError).cause?.message).toBe(
      'invalid run options: delegation: agent reader allows no delegation',
    );
  });

  it('a child that fails is a tool error saying why; the parent carries on', async () => {
    const workflowId = newId('fails');
    loop.model.script(childWorkflowId(workflowId, 1), [fails('no such model', { type: UNKNOWN_MODEL_ERROR })]);
    const d = delegate({ agent: 'reader', task: 'doomed' });
    const handle = await loop.start([use(d), finish('did it myself')], lead, { workflowId });
    const result = await awaitResult(handle);
    expect(result).toMatchObject({ status: 'completed', report: 'did it myself' });
    expect(resultsAt(workflowId, 2)).toEqual([
      {
        type: 'tool_result',
        tool_use_id: d.id,
        content: expect.stringMatching(
          /^sub-agent .*\.sub-1 \(agent reader\) failed: no such model \(1 turns, .*\); it gave no report$/,
        ),
        is_error: true,
      },
    ]);
    expect(result.children![0]).toMatchObject({ status: 'failed', reason: 'no such model' });
    // Its spending, from the failure's details, counts in the parent's totals.
    expect(result.totals!.turn).toBe(result.counters.turn + 1);
  });

  it("a child's escalation is listed under the child's id and answered on its handle, and through `longhaul approve`", async () => {
    const workflowId = newId('approve');
    const [first, second] = [childWorkflowId(workflowId, 1), childWorkflowId(workflowId, 2)];
    const write = (path: string) => call('write_file', { path, content: 'x' }, { result: `wrote ${path}` });
    loop.model.script(first, [use(write('a.txt')), finish('wrote a')]);
    loop.model.script(second, [use(write('b.txt')), finish('wrote b')]);
    const handle = await loop.start(
      [
        use(delegate({ agent: 'writer', task: 'write a' })),
        use(delegate({ agent: 'writer', task: 'write b' })),
        finish('both'),
      ],
      { ...lead, toolPolicies: { write_file: 'approve' } },
      { workflowId },
    );
    // The parent's policy went to the child: its write waits for a person.
    const escalation = await opened(await started(first), 'tool_approval');
    expect(escalation.heldToolCall).toMatchObject({ name: 'write_file', input: { path: 'a.txt' } });
    const pending = await waitFor(async () => {
      const listed = await listPending(loop.env.client);
      return listed.pending.find((p) => p.runId === first);
    });
    expect(pending).toMatchObject({ parent: workflowId, escalation: { id: escalation.id, kind: 'tool_approval' } });
    const listed = await cli(loop.env.address, 'unused', ['pending']);
    expect(listed.stdout).toContain(`${first} is a sub-agent of ${workflowId}`);
    await answer(loop.env.client, first, 'approve', {});

    await opened(await started(second), 'tool_approval');
    const out = await cli(loop.env.address, 'unused', ['approve', second]);
    expect(out).toMatchObject({ code: 0, stdout: expect.stringContaining(`approve sent for esc-1 of ${second}`) });
    const result = await awaitResult(handle);
    expect(result).toMatchObject({ status: 'completed', report: 'both' });
    expect(result.children!.map((c) => c.status)).toEqual(['completed', 'completed']);
    expect(loop.model.toolRuns(first).map((r) => r.approvedBy)).toEqual(['esc-1']);
  });

  it('past maxAtOnce a delegate call waits for a running child to end before its child starts', async () => {
    const workflowId = newId('slots');
    const [first, second] = [childWorkflowId(workflowId, 1), childWorkflowId(workflowId, 2)];
    for (const id of [first, second])
      loop.model.script(id, [use(call('write_file', { path: id, content: 'x' })), finish(`done ${id}`)]);
    const handle = await loop.start(
      [use(delegate({ agent: 'writer', task: 'one' }), delegate({ agent: 'writer', task: 'two' })), finish('both')],
      { ...lead, delegation: { agents: ['writer'], maxAtOnce: 1 } },
      { workflowId },
    );
    await opened(await started(first), 'tool_approval');
    // The first child holds the only slot while it waits on a person: the second is not started.
    await expect(handleOf(second).describe()).rejects.toThrow(/not found/);
    await answer(loop.env.client, first, 'approve', {});
    await opened(await started(second), 'tool_approval');
    expect((await handleOf(first).describe()).status.name).toBe('COMPLETED');
    await answer(loop.env.client, second, 'approve', {});
    const result = await awaitResult(handle);
    expect(result.children!.map((c) => c.status)).toEqual(['completed', 'completed']);
  });

  it('stopRun on the parent stops every child, and then the parent', async () => {
    const workflowId = newId('stop');
    const child = childWorkflowId(workflowId, 1);
    const second = childWorkflowId(workflowId, 2);
    // Both run at once (a reply's delegate calls do), each waiting on a person.
    for (const id of [child, second])
      loop.model.script(id, [use(call('write_file', { path: 'a', content: 'x' })), finish('never')]);
    const handle = await loop.start(
      [
        use(delegate({ agent: 'writer', task: 'write' }), delegate({ agent: 'writer', task: 'write more' })),
        finish('never'),
      ],
      lead,
      { workflowId },
    );
    await opened(await started(child), 'tool_approval');
    await opened(await started(second), 'tool_approval');
    await stopRun(loop.env.client, workflowId, { by: 'tester', message: 'enough' });
    const result = await awaitResult(handle);
    expect(result).toMatchObject({ status: 'stopped', reason: 'stopped by tester: enough' });
    expect(result.children!.map((c) => c.status)).toEqual(['stopped', 'stopped']);
    const childResult = await awaitResult(handleOf(child));
    expect(childResult).toMatchObject({
      status: 'stopped',
      reason: `stopped by tester (stopping ${workflowId}): enough`,
    });
  });

  it('cancelling the parent cancels every child, and the parent ends once they have', async () => {
    const workflowId = newId('cancel');
    const children = [childWorkflowId(workflowId, 1), childWorkflowId(workflowId, 2)];
    for (const id of children)
      loop.model.script(id, [use(call('write_file', { path: 'a', content: 'x' })), finish('never')]);
    const both = [delegate({ agent: 'writer', task: 'write' }), delegate({ agent: 'writer', task: 'write more' })];
    const handle = await loop.start([use(...both), finish('never')], lead, { workflowId });
    for (const id of children) await opened(await started(id), 'tool_approval');
    await handle.cancel();
    await expect(handle.result()).rejects.toBeInstanceOf(WorkflowFailedError);
    expect((await handle.describe()).status.name).toBe('CANCELLED');
    const statuses = await Promise.all(children.map((id) => handleOf(id).describe()));
    expect(statuses.map((d) => d.status.name)).toEqual(['CANCELLED', 'CANCELLED']);
  });
});
