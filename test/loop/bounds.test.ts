import { describe, expect, it } from 'vitest';
import { answer, listPending, pendingTable } from '../../client/escalations.js';
import { awaitResult } from '../../client/export.js';
import { callDisplay } from '../../common/call-display.js';
import { humanResponseSignal, type AgentRunInput } from '../../common/messages.js';
import { STATE_LIMITS } from '../../common/state.js';
import {
  call,
  FAST,
  finish,
  opened,
  toolError,
  until,
  use,
  useLoopEnv,
  type ScriptedCall,
} from '../helpers/scripted-model.js';

const loop = useLoopEnv();

/** update_state with 50 decisions of 2,000 characters: the growth, 100 KB a call. */
const bigDecisions = (turn: number, n: number): ScriptedCall =>
  call('update_state', {
    add_decisions: Array.from({ length: 50 }, (_, i) => `${turn}.${n}.${i} ${'d'.repeat(1_990)}`),
  });

describe.concurrent('bounds', FAST, () => {
  it('a state that would grow without bound is stopped by the state limit with a tool error; the run goes on and continues as new', async () => {
    // 5 calls a turn of 500 KB in all: unbounded, the state passed 2 MiB and the server terminated
    // the run at its continue-as-new (turn 10). Bounded, the first call fits and the rest are refused.
    const turns = Array.from({ length: 11 }, (_, t) => use(...Array.from({ length: 5 }, (_, n) => bigDecisions(t, n))));
    // Refusals are tool errors, and five in a row would ask a person (a model that keeps trying
    // should): here the run is to go on without one.
    const handle = await loop.start([...turns, finish('done')], {
      continueAsNewEvery: 10,
      escalation: { maxConsecutiveFailures: 1_000 },
    });
    const result = await awaitResult(handle);
    expect(result).toMatchObject({ status: 'completed', report: 'done' });
    expect(result.chain.runNumber).toBe(2);
    expect(result.state.decisions).toHaveLength(50);
    expect(JSON.stringify(result.state).length).toBeLessThanOrEqual(STATE_LIMITS.totalBytes);
    // The state went to the next run by reference (read back there), not in its input.
    const latest = await loop.env.client.workflowService.getWorkflowExecutionHistory({
      namespace: 'default',
      execution: { workflowId: handle.workflowId },
      maximumPageSize: 1,
    });
    const started = latest.history!.events![0]!.workflowExecutionStartedEventAttributes!;
    const carried = (JSON.parse(Buffer.from(started.input!.payloads![0]!.data!).toString()) as AgentRunInput).memory!;
    expect(carried.state).toBeNull();
    expect(carried.stateRef).toMatch(/^sha256:/);
    const second = loop.model.sent(handle.workflowId)[1]!.input.append!;
    expect(second).toHaveLength(5);
    expect(second[0]).toEqual({
      type: 'tool_result',
      tool_use_id: expect.any(String),
      content: 'state updated: 0 items done, 0 findings',
    });
    for (const block of second.slice(1)) {
      expect(block).toMatchObject({ is_error: true });
      expect((block as { content: string }).content).toMatch(
        /^update_state refused, the state is unchanged: the state would be \d+ bytes as JSON; the limit is 131072\. Keep in the state only/,
      );
    }
  });

  it('a continued run whose state cannot be read asks a person; approved, it reads the state again and goes on', async () => {
    const turns = Array.from({ length: 11 }, (_, t) => use(call('update_state', { add_decisions: [`d${t}`] })));
    const handle = await loop.start([...turns, finish('done')], { continueAsNewEvery: 10 });
    loop.model.loseState(handle.workflowId, 1);
    const escalation = await opened(handle, 'failures');
    expect(escalation.reason).toMatch(/^reading the run's state: .*transcript store has no blob sha256:state#/);
    await answer(loop.env.client, handle.workflowId, 'approve', {});
    const result = await awaitResult(handle);
    expect(result).toMatchObject({ status: 'completed', report: 'done', chain: { runNumber: 2 } });
    // Read again after the approval: nothing of the state was lost.
    expect(result.state.decisions).toHaveLength(11);
  });

  it('a call the model activity refused (inputError) is a tool error, before policy: never run, never asked about', async () => {
    const deep: ScriptedCall = {
      ...call('write_file', {}),
      inputError: 'write_file was not run: its input is nested deeper than 64 levels, the limit; send a flatter input',
    };
    const handle = await loop.start([use(deep), finish('done')]);
    const result = await awaitResult(handle);
    expect(result).toMatchObject({ status: 'completed', escalations: [] });
    expect(loop.model.toolRuns(handle.workflowId)).toEqual([]);
    expect(loop.model.sent(handle.workflowId)).toHaveLength(2);
    expect(loop.model.sent(handle.workflowId)[1]!.input.append).toEqual([toolError(deep, deep.inputError!)]);
  });

  it('an approval shows the display line: the path first though the model put content first, in the question and in pending', async () => {
    const input = { content: `${'x'.repeat(600)}`, path: '.git/config' };
    const w: ScriptedCall = { ...call('write_file', input), display: callDisplay('write_file', input) };
    const handle = await loop.start([use(w), finish('done')]);
    const escalation = await opened(handle, 'tool_approval');
    expect(escalation.question.startsWith('Approve write_file path=".git/config" content="xxx')).toBe(true);
    // The whole input stays available: held with the escalation (`longhaul pending --json`).
    expect(escalation.heldToolCall).toMatchObject({ input });
    const { pending } = await listPending(loop.env.client);
    const mine = pending.filter((p) => p.runId === handle.workflowId);
    const row = pendingTable({ pending: mine, unreadable: [] }).split('\n')[1]!;
    expect(row).toContain('Approve write_file path=".git/config"');
    await answer(loop.env.client, handle.workflowId, 'deny', { message: 'not .git' });
    const result = await awaitResult(handle);
    // Closed, the escalation keeps its question (cut) and not the held input.
    expect(result.escalations[0]!.heldToolCall).toEqual({ id: w.id, name: 'write_file', input: {} });
    expect(result.escalations[0]!.question.length).toBeLessThan(400);
  });

  it('an oversize answer signal is ignored and recorded; the run goes on and takes a proper answer', async () => {
    const handle = await loop.start([use(call('write_file', { path: 'a', content: 'b' })), finish('done')]);
    const escalation = await opened(handle, 'tool_approval');
    await handle.signal(humanResponseSignal, {
      escalationId: escalation.id,
      decision: 'approve',
      message: 'm'.repeat(200_000),
    });
    const p = await until(handle, (p) => p.ignoredResponses.length === 1);
    expect(p.ignoredResponses[0]!.reason).toBe('the answer is larger than 65536 bytes as JSON, the limit');
    expect(p.escalation?.id).toBe(escalation.id);
    await answer(loop.env.client, handle.workflowId, 'approve', {});
    expect((await awaitResult(handle)).status).toBe('completed');
  });

  it('an answer signal nested 100,000 deep (sent as raw JSON) is ignored and recorded, and fails nothing', async () => {
    const handle = await loop.start([use(call('write_file', { path: 'a', content: 'b' })), finish('done')]);
    await opened(handle, 'tool_approval');
    const deep = `{"escalationId":${'['.repeat(100_000)}${']'.repeat(100_000)},"decision":"approve"}`;
    await loop.env.client.workflowService.signalWorkflowExecution({
      namespace: 'default',
      workflowExecution: { workflowId: handle.workflowId },
      signalName: humanResponseSignal.name,
      input: { payloads: [{ metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from(deep) }] },
    });
    const p = await until(handle, (p) => p.ignoredResponses.length === 1);
    expect(p.ignoredResponses[0]!.reason).toBe('the answer is nested deeper than 64 levels, the limit');
    await answer(loop.env.client, handle.workflowId, 'approve', {});
    expect((await awaitResult(handle)).status).toBe('completed');
  });
});
