import { WorkflowFailedError } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { answer } from '../../client/escalations.js';
import { awaitResult } from '../../client/export.js';
import { stateQuery } from '../../common/messages.js';
import {
  call,
  fails,
  FAST,
  finish,
  finishCall,
  LOOP_TEXT,
  opened,
  resultOf,
  textBlock,
  toolError,
  use,
  useLoopEnv,
  type Handle,
} from '../helpers/scripted-model.js';

const loop = useLoopEnv({ quick: { maxTurns: 1, escalation: { onCap: 'stop' } } });

const events = async (handle: Handle) => (await handle.fetchHistory()).events ?? [];
/** The durable timers the run started, in seconds. */
const timers = async (handle: Handle) =>
  (await events(handle)).flatMap((e) =>
    e.timerStartedEventAttributes ? [Number(e.timerStartedEventAttributes.startToFireTimeout?.seconds ?? 0)] : [],
  );

// One concurrent suite: the backoff tests wait out a 5 s timer while the rest run.
describe.concurrent('tools and failures', FAST, () => {
  describe('model failures', () => {
    it('a non-retryable model failure counts, backs off on a durable timer, and the same turn is asked again', async () => {
      const handle = await loop.start([fails('overloaded for good'), finish('done')]);
      const result = await awaitResult(handle);
      expect(result).toMatchObject({ status: 'completed', report: 'done' });
      expect(result.counters).toMatchObject({ turn: 1, modelCalls: 1, failuresInRow: 0 });
      const sent = loop.model.sent(handle.workflowId);
      expect(sent.map((s) => [s.input.turn, s.input.append])).toEqual([
        [1, [textBlock(LOOP_TEXT.begin)]],
        [1, [textBlock(LOOP_TEXT.begin)]],
      ]);
      expect(await timers(handle)).toEqual([5]);
    });

    it('a retryable model failure is retried by Temporal and is no failure of the run', async () => {
      const handle = await loop.start([fails('529 overloaded', { retryable: true }), finish('done')], {
        escalation: { maxConsecutiveFailures: 1 },
      });
      const result = await awaitResult(handle);
      expect(result).toMatchObject({ status: 'completed', escalations: [] });
      expect(loop.model.sent(handle.workflowId)).toHaveLength(2);
      expect(await timers(handle)).toEqual([]);
      const attempts = (await events(handle)).flatMap((e) =>
        e.activityTaskStartedEventAttributes ? [e.activityTaskStartedEventAttributes.attempt] : [],
      );
      expect(attempts).toContain(2);
    });

    it("maxConsecutiveFailures model failures escalate as failures; a reply goes to the model with the turn's message", async () => {
      const handle = await loop.start([fails('first'), fails('second'), finish('done')], {
        escalation: { maxConsecutiveFailures: 2 },
      });
      const escalation = await opened(handle, 'failures');
      expect(escalation.reason).toBe('2 failures in a row; the last: model call: second');
      await answer(loop.env.client, handle.workflowId, 'reply', { message: 'try again' });
      const result = await awaitResult(handle);
      expect(result).toMatchObject({ status: 'completed', report: 'done' });
      expect(result.counters).toMatchObject({ turn: 1, modelCalls: 1 });
      expect(loop.model.sent(handle.workflowId).map((s) => [s.input.turn, s.input.append])).toEqual([
        [1, [textBlock(LOOP_TEXT.begin)]],
        [1, [textBlock(LOOP_TEXT.begin)]],
        [1, [textBlock(LOOP_TEXT.begin), textBlock('A person says: try again')]],
      ]);
      // A backoff after the first failure only; the second asks at once (the other timer is the escalation's deadline).
      expect(await timers(handle)).toEqual([5, 24 * 3600]);
    });
  });

  describe('state tools', () => {
    it('update_state with valid input updates the state; the model call after it gets the update on top of the stored state', async () => {
      const update = { mark_done: ['a.ts'], add_findings: [{ item: 'a.ts', severity: 'high', detail: 'eval' }] };
      const u = call('update_state', update);
      const handle = await loop.start([use(u), finish('done')]);
      const result = await awaitResult(handle);
      expect(result.state).toMatchObject({ itemsDone: ['a.ts'], findings: update.add_findings });
      expect(await handle.query(stateQuery)).toEqual(result.state);
      const [first, second] = loop.model.sent(handle.workflowId);
      expect(first!.input.state).toEqual({ ref: null, updates: [] });
      expect(second!.input).toMatchObject({
        state: { ref: first!.reply!.stateRef, updates: [update] },
        append: [{ type: 'tool_result', tool_use_id: u.id, content: 'state updated: 1 items done, 1 findings' }],
      });
    });

    it('update_state with invalid input is a tool error and changes nothing', async () => {
      const u = call('update_state', { mark_done: [] });
      const handle = await loop.start([use(u), finish('done')]);
      const result = await awaitResult(handle);
      expect(result.state).toEqual({ itemsDone: [], findings: [], decisions: [], errors: [] });
      const second = loop.model.sent(handle.workflowId)[1]!.input;
      expect(second.state).toEqual({ ref: loop.model.sent(handle.workflowId)[0]!.reply!.stateRef, updates: [] });
      expect(second.append).toEqual([
        toolError(
          u,
          'invalid update_state input: input: update_state needs at least one non-empty field: mark_done, add_findings, add_decisions or add_errors',
        ),
      ]);
    });

    it("update_state as the model activity checked it (an agent's own lists) is applied, or refused, as checked", async () => {
      const ok = call(
        'update_state',
        { add_blockers: [{ what: 'no access' }] },
        { stateUpdate: { ok: true, update: { lists: { blockers: [{ what: 'no access' }] } } } },
      );
      const bad = call(
        'update_state',
        { add_blockers: [1] },
        { stateUpdate: { ok: false, error: 'add_blockers.0: expected object' } },
      );
      const handle = await loop.start([use(ok, bad), finish('done')]);
      const result = await awaitResult(handle);
      expect(result.state.lists).toEqual({ blockers: [{ what: 'no access' }] });
      expect(loop.model.sent(handle.workflowId)[1]!.input.append).toEqual([
        { type: 'tool_result', tool_use_id: ok.id, content: 'state updated: 0 items done, 0 findings, 1 blockers' },
        toolError(bad, 'invalid update_state input: add_blockers.0: expected object'),
      ]);
    });

    it('with injectState off the model calls carry no state, and update_state still keeps it in the run', async () => {
      const handle = await loop.start(
        [use(call('update_state', { add_decisions: ['skip vendored code'] })), finish('done')],
        { injectState: false },
      );
      const result = await awaitResult(handle);
      expect(result.state.decisions).toEqual(['skip vendored code']);
      expect(loop.model.sent(handle.workflowId).map((s) => s.input.state)).toEqual([null, null]);
    });

    it('finish with invalid input is a tool error and the run goes on', async () => {
      const f = call('finish', { summary: 'wrong field' });
      const handle = await loop.start([use(f), finish('done')]);
      expect(await awaitResult(handle)).toMatchObject({ status: 'completed', report: 'done' });
      expect(loop.model.sent(handle.workflowId)[1]!.input.append).toEqual([
        toolError(
          f,
          'invalid finish input: report: Invalid input: expected string, received undefined; input: Unrecognized key: "summary"',
        ),
      ]);
    });

    it('finish ends the run with its report; calls after it in the same reply are not run, and nobody is asked for them', async () => {
      const handle = await loop.start([
        use(finishCall('all done'), call('read_file'), call('write_file', { path: 'x', content: 'y' })),
      ]);
      const result = await awaitResult(handle);
      expect(result).toMatchObject({ status: 'completed', report: 'all done', escalations: [] });
      expect(result.counters).toMatchObject({ turn: 1, toolCalls: 3, toolErrors: 2 });
      expect(loop.model.toolRuns(handle.workflowId)).toEqual([]);
      expect(loop.model.sent(handle.workflowId)).toHaveLength(1);
    });
  });

  describe('tool policies and dispatch', () => {
    it('a denied tool is a tool error and does not run; state tools ignore policies', async () => {
      const r = call('run_command', { cmd: 'rm -rf /' });
      const handle = await loop.start([use(r), finish('done')], {
        toolPolicies: { run_command: 'deny', finish: 'deny' },
      });
      expect(await awaitResult(handle)).toMatchObject({ status: 'completed', report: 'done' });
      expect(loop.model.toolRuns(handle.workflowId)).toEqual([]);
      expect(loop.model.sent(handle.workflowId)[1]!.input.append).toEqual([
        toolError(r, 'run_command is not allowed in this run'),
      ]);
    });

    it('a side-effect-free call runs as a local activity, a side-effecting one as an activity scheduled on the server', async () => {
      const read = call('read_file', { path: 'a' }, { sideEffectFree: true, result: 'A' });
      const run = call('run_command', { cmd: 'make' }, { result: 'built' });
      const handle = await loop.start([use(read, run), finish('done')]);
      expect((await awaitResult(handle)).status).toBe('completed');
      expect(loop.model.toolRuns(handle.workflowId).map((r) => r.call.name)).toEqual(['read_file', 'run_command']);
      expect(loop.model.sent(handle.workflowId)[1]!.input.append).toEqual([resultOf(read), resultOf(run)]);
      const history = await events(handle);
      const scheduled = history.flatMap((e) =>
        e.activityTaskScheduledEventAttributes ? [e.activityTaskScheduledEventAttributes.activityType?.name] : [],
      );
      const local = history.flatMap((e) => {
        const marker = e.markerRecordedEventAttributes;
        const data =
          marker?.markerName === 'core_local_activity' ? marker.details?.data?.payloads?.[0]?.data : undefined;
        return data
          ? [(JSON.parse(Buffer.from(data).toString('utf8')) as { activity_type: string }).activity_type]
          : [];
      });
      expect(scheduled.filter((t) => t === 'runTool')).toHaveLength(1);
      // The run's admission by the worker, then the read.
      expect(local).toEqual(['admitRun', 'runTool']);
    });
  });

  describe('agent profiles', () => {
    it("a named agent's defaults apply under the run's own options, and the agent goes with every activity call", async () => {
      const handle = await loop.start([use(call('read_file')), use(call('read_file')), finish('never')], {
        agent: 'quick',
      });
      expect(await awaitResult(handle)).toMatchObject({ status: 'stopped', reason: 'turn cap of 1 reached' });
      expect(loop.model.sent(handle.workflowId).map((s) => s.input.agent)).toEqual(['quick']);
      expect(loop.model.toolRuns(handle.workflowId).map((r) => r.agent)).toEqual(['quick']);
      const own = await loop.start([use(call('read_file')), use(call('read_file')), finish('never')], {
        agent: 'quick',
        maxTurns: 2,
      });
      expect(await awaitResult(own)).toMatchObject({ status: 'stopped', reason: 'turn cap of 2 reached' });
    });

    it('an agent the worker does not serve fails the run as invalid options', async () => {
      const handle = await loop.start([finish('never')], { agent: 'nobody' });
      const failure = await handle.result().catch((err: unknown) => err);
      expect(failure).toBeInstanceOf(WorkflowFailedError);
      expect((failure as WorkflowFailedError).cause?.message).toBe('invalid run options: unknown agent "nobody"');
      expect(loop.model.sent(handle.workflowId)).toEqual([]);
    });
  });
});
