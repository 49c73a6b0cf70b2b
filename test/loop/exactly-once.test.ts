import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities/index.js';
import { uncertainEffect } from '../../activities/ledger.js';
import { answer } from '../../client/escalations.js';
import { awaitResult } from '../../client/export.js';
import type { PendingBlock } from '../../common/contracts.js';
import { DirectoryStore } from '../../store/directory-store.js';
import { workspaceTools } from '../../tools/workspace-tools.js';
import { createAnthropic } from '../../worker/create.js';
import { countingTool, FaultyLedger } from '../helpers/faulty-ledger.js';
import { TEST_WORKER_DEFAULTS } from '../helpers/test-worker.js';
import { call, FAST, finish, use, useLoopEnv, waitFor, type Handle } from '../helpers/scripted-model.js';
import { progressQuery } from '../../common/messages.js';

/**
 * The real tool activity (activities/run-tool.ts, its ledger on a directory store that fails as
 * told) under the real workflow on a dev server; only the model is scripted, so a test picks the
 * tool_use ids (duplicates, the same id in a reused run) the way a model might.
 */
const dir = mkdtempSync(join(tmpdir(), 'longhaul-once-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const store = new FaultyLedger(new DirectoryStore(join(dir, 'store')));
const counting = countingTool();
// The real admission too: it passes the runs' workspaces (under the temporary directory) and their write_file=allow.
const { runTool, admitRun } = createActivities({
  // Never called: the model activities are scripted.
  anthropic: createAnthropic({ ANTHROPIC_BASE_URL: 'http://127.0.0.1:9' }),
  store,
  tools: [counting.tool, ...workspaceTools],
  ...TEST_WORKER_DEFAULTS,
});
const loop = useLoopEnv({}, { runTool, admitRun });

let seq = 0;
/** A run of its own: a workflowId, and a workspace directory the counting tool counts by. */
function newRun() {
  const workflowId = `once-${++seq}-${randomUUID().slice(0, 8)}`;
  const workspace = join(dir, workflowId);
  mkdirSync(workspace);
  return { workflowId, workspace, options: { workspace, toolPolicies: { write_file: 'allow' as const } } };
}

/** What the model was sent with its nth call (0-based) of the run. */
const appended = (handle: Handle, n: number) => loop.model.sent(handle.workflowId)[n]?.input.append;
const journaled = (workflowId: string) => store.journaled.filter((line) => line.startsWith(`${workflowId}/`));
const result = (id: string, content: string, isError?: true): PendingBlock => ({
  type: 'tool_result',
  tool_use_id: id,
  content,
  ...(isError ? { is_error: true } : {}),
});
const gaveUp = (tool: string) =>
  new RegExp(
    `^${tool} could not be run \\(the worker gave up: EROFS: .*cannot record the intent.*\\): it may or may not have taken effect`,
  );

describe.concurrent('exactly once, or said so', FAST, () => {
  // The tool activity's retries take about 30 s of waits (workflows/activities.ts) before it gives up.
  const OUTAGE = { timeout: 120_000 };

  it(
    'with the ledger unwritable, a side-effecting tool never acts; the model is told, and after K failures a person is asked',
    OUTAGE,
    async () => {
      const run = newRun();
      store.failFor(run.workflowId, { unwritable: true });
      const c = call('record_effect', { note: 'once' });
      const handle = await loop.start(
        [use(c), finish('done')],
        { ...run.options, escalation: { maxConsecutiveFailures: 1 } },
        run,
      );
      const escalation = await waitFor(
        async () => (await handle.query(progressQuery)).escalation ?? undefined,
        () => 'no escalation opened',
        OUTAGE.timeout,
      );
      expect(escalation.kind).toBe('failures');
      expect(escalation.reason).toMatch(
        /^1 failures in a row; the last: record_effect: record_effect could not be run/,
      );
      await answer(loop.env.client, handle.workflowId, 'approve', {});
      expect(await awaitResult(handle)).toMatchObject({ status: 'completed', report: 'done' });
      expect(appended(handle, 1)).toEqual([result(c.id, expect.stringMatching(gaveUp('record_effect')), true)]);
      expect(counting.effects(run.workspace)).toEqual([]);
      expect(journaled(run.workflowId)).toEqual([]);
    },
  );

  it('with the ledger unwritable, write_file writes nothing and the run completes', OUTAGE, async () => {
    const run = newRun();
    store.failFor(run.workflowId, { unwritable: true });
    const w = call('write_file', { path: 'out.txt', content: 'hello\n' });
    const handle = await loop.start([use(w), finish('done')], run.options, run);
    const done = await awaitResult(handle);
    expect(done).toMatchObject({ status: 'completed', counters: { toolErrors: 1 } });
    expect(appended(handle, 1)).toEqual([result(w.id, expect.stringMatching(gaveUp('write_file')), true)]);
    await expect(readFile(join(run.workspace, 'out.txt'))).rejects.toThrow(/ENOENT/);
    expect(journaled(run.workflowId)).toEqual([]);
  });

  it('a result that cannot be recorded after the act: acted once, and the retry reports the effect uncertain', async () => {
    const run = newRun();
    store.failFor(run.workflowId, { failResultWrites: 1 });
    const c = call('record_effect', { note: 'x' });
    const handle = await loop.start([use(c), finish('done')], run.options, run);
    expect(await awaitResult(handle)).toMatchObject({ status: 'completed' });
    expect(appended(handle, 1)).toEqual([result(c.id, uncertainEffect('record_effect'), true)]);
    expect(counting.effects(run.workspace)).toEqual(['x']);
    expect(journaled(run.workflowId)).toHaveLength(1);
  });

  it("a result that cannot be recorded after write_file: written once, and the retry reports what write_file's check found", async () => {
    const run = newRun();
    store.failFor(run.workflowId, { failResultWrites: 1 });
    const w = call('write_file', { path: 'out.txt', content: 'hello\n' });
    const handle = await loop.start([use(w), finish('done')], run.options, run);
    expect(await awaitResult(handle)).toMatchObject({ status: 'completed', counters: { toolErrors: 0 } });
    expect(appended(handle, 1)).toEqual([result(w.id, 'wrote 6 bytes to out.txt')]);
    expect(await readFile(join(run.workspace, 'out.txt'), 'utf8')).toBe('hello\n');
    expect(journaled(run.workflowId)).toEqual([expect.stringMatching(/ write_file$/)]);
  });

  it('calls with the same tool_use id in one reply each run, and each result reaches the model', async () => {
    const run = newRun();
    const a = call('record_effect', { note: 'a' });
    const b = { ...call('record_effect', { note: 'b' }), id: a.id };
    const handle = await loop.start([use(a, b, { ...a }), finish('done')], run.options, run);
    expect(await awaitResult(handle)).toMatchObject({ status: 'completed', counters: { toolCalls: 4, toolErrors: 0 } });
    expect(counting.effects(run.workspace)).toEqual(['a', 'b', 'a']);
    expect(appended(handle, 1)).toEqual([
      result(a.id, 'effect #1: a'),
      result(a.id, 'effect #2: b'),
      result(a.id, 'effect #3: a'),
    ]);
  });

  it('a new run under a reused workflow id re-runs nothing of the first run and skips nothing', async () => {
    const run = newRun();
    // The same tool_use id and input in both runs, as a model with deterministic ids would send.
    const c = call('record_effect', { note: 'x' });
    const first = await loop.start([use(c), finish('one')], run.options, run);
    expect(await awaitResult(first)).toMatchObject({ status: 'completed', report: 'one' });
    const firstRunId = (await first.describe()).runId;
    const second = await loop.start([use(c), finish('two')], run.options, run);
    expect((await second.describe()).runId).not.toBe(firstRunId);
    expect(await awaitResult(second)).toMatchObject({ status: 'completed', report: 'two' });
    expect(counting.effects(run.workspace)).toEqual(['x', 'x']);
    // sent() holds both runs' model calls: the second run's second call got its own, new effect.
    expect(appended(second, 3)).toEqual([result(c.id, 'effect #2: x')]);
    expect(journaled(run.workflowId)).toHaveLength(2);
  });

  describe('across temporal workflow reset (the chain id is kept)', () => {
    /** Resets the run to the workflow task that scheduled its first activity of this type: that task runs again. */
    async function resetTo(handle: Handle, activity: 'callModel' | 'runTool'): Promise<Handle> {
      const events = (await handle.fetchHistory()).events ?? [];
      const scheduled = events.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === activity);
      const { runId } = await loop.env.client.workflowService.resetWorkflowExecution({
        namespace: 'default',
        workflowExecution: { workflowId: handle.workflowId },
        workflowTaskFinishEventId: scheduled!.activityTaskScheduledEventAttributes!.workflowTaskCompletedEventId!,
        requestId: randomUUID(),
        reason: 'exactly-once test',
      });
      return loop.env.client.workflow.getHandle(handle.workflowId, runId);
    }

    it('to before a tool call: the call runs again and finds its recorded result; nothing acts twice', async () => {
      const run = newRun();
      const c = call('record_effect', { note: 'r' });
      const handle = await loop.start([use(c), finish('first')], run.options, run);
      expect(await awaitResult(handle)).toMatchObject({ report: 'first' });
      loop.model.script(run.workflowId, [finish('after reset')]);
      const reset = await resetTo(handle, 'runTool');
      expect(await awaitResult(reset)).toMatchObject({ status: 'completed', report: 'after reset' });
      expect(counting.effects(run.workspace)).toEqual(['r']);
      expect(appended(handle, 2)).toEqual([result(c.id, 'effect #1: r')]);
    });

    it('to before the model call: the same call in the same slot (a new tool_use id) finds its result; a different call acts', async () => {
      const run = newRun();
      const c = call('record_effect', { note: 'r' });
      const handle = await loop.start([use(c), finish('first')], run.options, run);
      expect(await awaitResult(handle)).toMatchObject({ report: 'first' });
      const same = call('record_effect', { note: 'r' });
      const other = call('record_effect', { note: 'other' });
      loop.model.script(run.workflowId, [use(same, other), finish('after reset')]);
      const reset = await resetTo(handle, 'callModel');
      expect(await awaitResult(reset)).toMatchObject({ status: 'completed', report: 'after reset' });
      expect(counting.effects(run.workspace)).toEqual(['r', 'other']);
      expect(appended(handle, 3)).toEqual([result(same.id, 'effect #1: r'), result(other.id, 'effect #2: other')]);
    });
  });
});
