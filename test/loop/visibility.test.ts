import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { awaitResult } from '../../client/export.js';
import type { ToolRunInput } from '../../common/contracts.js';
import { humanResponseSignal, stopRunUpdate, type RunMemo } from '../../common/messages.js';
import { LONGHAUL_STATUS } from '../../common/search-attributes.js';
import { call, FAST, finish, opened, until, use, useLoopEnv, waitFor, type Handle } from '../helpers/scripted-model.js';

/** Calls of the tool `hold` wait in the activity until the test lets them go: the run is busy meanwhile. */
const held = new Map<string, { started: () => void; release: Promise<void> }>();
const loop = useLoopEnv(
  {},
  {
    runTool: async (input: ToolRunInput) => {
      const hold = input.call.name === 'hold' ? held.get(input.workflowId) : undefined;
      if (hold) {
        hold.started();
        await hold.release;
      }
      return loop.model.activities().runTool(input);
    },
  },
);

/** Makes the run's `hold` calls wait; resolves `busy` once one is running. */
function holdTools(workflowId: string) {
  let started!: () => void;
  let release!: () => void;
  const busy = new Promise<void>((resolve) => (started = resolve));
  held.set(workflowId, { started, release: new Promise<void>((resolve) => (release = resolve)) });
  return { busy, release };
}

/** The README's own query for live runs (its "Reading a run in the Web UI" section). */
const README_LIVE_QUERY = (() => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const found = readme.match(/`(WorkflowType = "agentRun" AND LonghaulStatus = "running")`/);
  if (!found) throw new Error('README.md no longer gives the live-runs query this test checks');
  return found[1]!;
})();

const status = async (handle: WorkflowHandle, runId?: string) => {
  const d = await loop.env.client.workflow.getHandle(handle.workflowId, runId).describe();
  return {
    search: d.typedSearchAttributes.get(LONGHAUL_STATUS),
    memo: d.memo as unknown as RunMemo,
    temporal: d.status.name,
  };
};

const metadata = (handle: Handle) =>
  handle.query<{ currentDetails?: string; definition?: unknown }>('__temporal_workflow_metadata');

/** The reason a refused update gives (the validator's error is the failure's cause). */
const refusal = (sent: Promise<unknown>) =>
  sent.then(
    () => 'accepted',
    (err: Error & { cause?: Error }) => err.cause?.message ?? err.message,
  );

let seq = 0;
const id = (name: string) => `vis-${name}-${++seq}-${Date.now()}`;

describe.concurrent('visibility', FAST, () => {
  it("after a chain continued as new, the README's live-runs query finds only the live run; every other run says continued", async () => {
    const workflowId = id('chain');
    const gate = holdTools(workflowId);
    const reads = Array.from({ length: 21 }, (_, n) => use(call('read_file', { path: `f${n}` })));
    const handle = await loop.start(
      [...reads, use(call('hold')), finish('done')],
      { continueAsNewEvery: 10 },
      { workflowId },
    );
    await gate.busy;
    const live = await handle.describe();
    const runs = await waitFor(async () => {
      const all = [];
      for await (const r of loop.env.client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) all.push(r);
      return all.length >= 3 && all.every((r) => r.typedSearchAttributes.get(LONGHAUL_STATUS) !== undefined)
        ? all
        : undefined;
    });
    const found = await waitFor(async () => {
      const rows = [];
      const query = `${README_LIVE_QUERY} AND WorkflowId = '${workflowId}'`;
      for await (const r of loop.env.client.workflow.list({ query })) rows.push(r.runId);
      // Visibility lags the history a little: wait until the continued runs' last upsert is indexed.
      return rows.length === 1 ? rows : undefined;
    });
    expect(found).toEqual([live.runId]);
    const earlier = runs.filter((r) => r.runId !== live.runId);
    expect(earlier.length).toBeGreaterThanOrEqual(2);
    for (const r of earlier) {
      expect(r.status.name).toBe('CONTINUED_AS_NEW');
      expect(r.typedSearchAttributes.get(LONGHAUL_STATUS)).toBe('continued');
      expect((r.memo as unknown as RunMemo).status).toBe('continued');
    }
    // The memo of a continued run is final, not as of its last tenth turn.
    const first = await status(handle, earlier.at(-1)!.runId);
    expect(first.memo).toMatchObject({ status: 'continued', turn: 10, runInChain: 1 });
    // The live run started with its live status: its start event carries it, no gap shows `continued`.
    const history = await loop.env.client.workflow.getHandle(workflowId, live.runId).fetchHistory();
    const started = history.events![0]!.workflowExecutionStartedEventAttributes!;
    const startedStatus = started.searchAttributes?.indexedFields?.LonghaulStatus?.data;
    expect(Buffer.from(startedStatus!).toString()).toBe('"running"');
    gate.release();
    const result = await awaitResult(handle);
    expect(Object.keys(result).slice(0, 2)).toEqual(['status', 'report']);
    expect((await status(handle)).search).toBe('completed');
  });

  it('a waiting run shows the question, the deadline and how to answer in its current details; an ignored signal says why', async () => {
    const ask = call('escalate_to_human', { reason: 'the schema is ambiguous', question: 'Which database?' });
    const handle = await loop.start([use(ask), finish('done')]);
    const escalation = await opened(handle, 'model_request');
    const details = await waitFor(async () => {
      const d = (await metadata(handle)).currentDetails;
      return d?.includes('Which database?') ? d : undefined;
    });
    expect(details).toContain('**Waiting on a person**');
    expect(details).toContain(`Answer by **${escalation.deadline}**`);
    expect(details).toContain(`\`longhaul reply ${handle.workflowId} "your answer"\``);
    expect(details).toContain(`\`longhaul approve ${handle.workflowId}\``);
    expect(details).toContain('`{"escalationId":"esc-1","decision":"reply","message":"your answer"}`');
    expect(details).toContain('`{"escalationId":"esc-1","decision":"stop"}`');
    // The memo holds the open escalation, for listing it without a worker.
    expect((await status(handle)).memo.escalation).toEqual({
      id: 'esc-1',
      kind: 'model_request',
      question: 'Which database?',
      openedAt: escalation.openedAt,
      deadline: escalation.deadline,
    });
    // The deadline's timer is named in the event list.
    const history = await handle.fetchHistory();
    const timer = history.events!.find((e) => e.timerStartedEventAttributes)!;
    expect(Buffer.from(timer.userMetadata!.summary!.data!).toString()).toBe(
      JSON.stringify(`deadline of esc-1 (model_request): answer by ${escalation.deadline}`),
    );
    await handle.signal(humanResponseSignal, { escalationId: 'esc-1', decision: 'approved' });
    const ignored = await waitFor(async () => {
      const d = (await metadata(handle)).currentDetails;
      return d?.includes('Last ignored answer') ? d : undefined;
    });
    expect(ignored).toMatch(/\*\*Last ignored answer\*\* \(.+\): decision: Invalid/);
    await handle.signal(humanResponseSignal, { escalationId: 'esc-1', decision: 'reply', message: 'use staging' });
    const result = await awaitResult(handle);
    expect(result.escalations[0]).toMatchObject({ turn: 1, outcome: { decision: 'reply' } });
    const after = await status(handle);
    expect(after.memo.escalation).toBeUndefined();
    expect(after.memo.waitingOnPerson).toBeUndefined();
    expect((await metadata(handle)).currentDetails).toMatch(/^\*\*Completed\*\* · turn 2 of 500/);
  });

  it('a held call shows its approval detail and the approve, deny and stop answers; the run has a static summary and details', async () => {
    const write = {
      ...call('write_file', { path: 'out.txt', content: 'x' }),
      display: 'write_file out.txt (1 line)',
      approvalDetail: '+x',
    };
    const handle = await loop.start([use(write), finish('done')], {
      task: 'Write the file\nand more lines',
      maxTurns: 7,
    });
    await opened(handle, 'tool_approval');
    const details = await waitFor(async () => {
      const d = (await metadata(handle)).currentDetails;
      return d?.includes('Approve write_file') ? d : undefined;
    });
    expect(details).toContain('Approve write_file out.txt (1 line)?\n+x');
    expect(details).toContain('Held call: `write_file`');
    expect(details).toContain(`\`longhaul deny ${handle.workflowId} --message "why not"\``);
    expect(details).toContain(`\`longhaul stop ${handle.workflowId}\``);
    expect(details).not.toContain('longhaul reply');
    expect(details).toContain('`{"escalationId":"esc-1","decision":"deny","message":"why not"}`');
    const d = await handle.describe();
    expect(await d.staticSummary()).toBe('workspace agent: Write the file');
    expect(await d.staticDetails()).toContain('- Turn cap: 7\n');
    await handle.signal(humanResponseSignal, { escalationId: 'esc-1', decision: 'approve' });
    expect((await awaitResult(handle)).status).toBe('completed');
  });

  it('a run Temporal cancels ends cancelled, and its search attribute and memo say so', async () => {
    const workflowId = id('cancel');
    const gate = holdTools(workflowId);
    const handle = await loop.start([use(call('hold')), finish('done')], {}, { workflowId });
    await gate.busy;
    await handle.cancel();
    gate.release();
    await expect(handle.result()).rejects.toBeInstanceOf(WorkflowFailedError);
    const s = await waitFor(async () => {
      const now = await status(handle);
      return now.temporal === 'CANCELLED' ? now : undefined;
    });
    expect(s.search).toBe('cancelled');
    expect(s.memo.status).toBe('cancelled');
  });

  it('stopRun ends a busy run after the step in flight, as stopped; a second stop and a malformed one are refused', async () => {
    const workflowId = id('stop');
    const gate = holdTools(workflowId);
    const handle = await loop.start([use(call('hold'), call('read_file')), finish('done')], {}, { workflowId });
    await gate.busy;
    try {
      expect(await refusal(handle.executeUpdate(stopRunUpdate, { args: [{ by: '', extra: 1 } as never] }))).toBe(
        'stopRun takes {by, message?}: by: by is empty; input: Unrecognized key: "extra"',
      );
      expect(await handle.executeUpdate(stopRunUpdate, { args: [{ by: 'ana', message: 'enough' }] })).toEqual({
        stopping: true,
      });
      expect(await refusal(handle.executeUpdate(stopRunUpdate, { args: [{ by: 'bo' }] }))).toBe(
        'the run is already stopping (asked by ana)',
      );
    } finally {
      gate.release();
    }
    const result = await awaitResult(handle);
    expect(result).toMatchObject({ status: 'stopped', reason: 'stopped by ana: enough' });
    // The held call finished; the call after it never ran, nor did a next turn.
    expect(loop.model.toolRuns(workflowId).map((r) => r.call.name)).toEqual(['hold']);
    expect(loop.model.sent(workflowId)).toHaveLength(1);
    expect((await status(handle)).search).toBe('stopped');
    expect(await refusal(handle.executeUpdate(stopRunUpdate, { args: [{ by: 'bo' }] }))).not.toBe('accepted');
  });

  it('stopRun while a person is asked closes the escalation as the stopper’s stop', async () => {
    const ask = call('escalate_to_human', { reason: 'unsure', question: 'Go on?' });
    const handle = await loop.start([use(ask), finish('done')]);
    await opened(handle, 'model_request');
    await handle.executeUpdate(stopRunUpdate, { args: [{ by: 'ana' }] });
    const result = await awaitResult(handle);
    expect(result).toMatchObject({ status: 'stopped', reason: 'stopped by ana' });
    expect(result.escalations[0]!.outcome).toMatchObject({ decision: 'stop', by: 'ana' });
    await until(handle, (p) => p.status === 'stopped');
  });
});
