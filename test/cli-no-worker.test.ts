import type { Worker } from '@temporalio/worker';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { startRun } from '../client/connect.js';
import { awaitResult } from '../client/export.js';
import type { RunMemo } from '../common/messages.js';
import { cli } from './helpers/cli.js';
import { startAudit } from './helpers/audit-run.js';
import { useHarness } from './helpers/harness.js';

// No in-process worker: each test starts one and stops it, to see what the CLI says without one.
const h = useHarness();
const longhaul = (...args: string[]) => cli(h.env.address, h.taskQueue, args);
let workspace: string;

beforeAll(async () => {
  workspace = await mkdtemp(join(tmpdir(), 'longhaul-cli-nw-'));
});

async function withWorker<T>(fn: (worker: Worker) => Promise<T>): Promise<T> {
  const worker = await h.startWorker();
  const running = worker.run();
  try {
    return await fn(worker);
  } finally {
    worker.shutdown();
    await running;
  }
}

const start = (id: string, task: string, extra: object = {}) =>
  startRun(h.env.client, { task, workspace, ...extra }, { taskQueue: h.taskQueue, workflowId: id });

/** Until the memo names the open escalation (what `pending` reads without a worker). */
async function waitingInMemo(id: string): Promise<void> {
  const handle = h.env.client.workflow.getHandle(id);
  while (!((await handle.describe()).memo as RunMemo | undefined)?.escalation) await sleep(100);
}

describe('longhaul pending and status with no worker polling', () => {
  it('pending lists every waiting run within 5 s from the memo, saying what it could not know; status reads a completed run from its result', async () => {
    const waiting = ['nw-ask-1', 'nw-ask-2', 'nw-write'];
    await withWorker(async () => {
      await start('nw-ask-1', '[sim:ask-human]');
      await start('nw-ask-2', '[sim:ask-human]');
      await start('nw-write', '[sim:write]', { toolPolicies: { write_file: 'approve' } });
      const done = await start('nw-done', 'Reply with: all good');
      await awaitResult(done);
      for (const id of waiting) await waitingInMemo(id);
      // With a worker, the whole escalation: the held call's approval detail and its input.
      const json = JSON.parse((await longhaul('pending', '--json')).stdout) as { runId: string; source?: string }[];
      expect(json.filter((p) => waiting.includes(p.runId)).map((p) => p.source)).toEqual([
        undefined,
        undefined,
        undefined,
      ]);
    });

    const t0 = Date.now();
    const out = await longhaul('pending');
    const ms = Date.now() - t0;
    console.log(`longhaul pending with no worker polling: ${ms} ms for ${waiting.length} waiting runs`);
    expect(out).toMatchObject({ code: 0, stderr: '' });
    const lines = out.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^RUN +ESCALATION +KIND +DEADLINE \(UTC\) +QUESTION$/);
    // Newest first, each with its escalation, deadline and question from the memo.
    expect(lines.slice(1, 4).map((l) => l.split(/ +/)[0])).toEqual(['nw-write', 'nw-ask-2', 'nw-ask-1']);
    expect(lines[1]).toMatch(/^nw-write +esc-1 +tool_approval +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d +Approve write_file /);
    expect(lines[3]).toMatch(
      /^nw-ask-1 +esc-1 +model_request +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d +Proceed with the migration\?$/,
    );
    // One line says what could not be known (how a query failed can vary: a timeout, or the server's refusal).
    expect(lines.find((l) => l.endsWith(`answering needs a worker polling task queue ${h.taskQueue}`))).toMatch(
      /: listed from the memo, without approval details; answering needs a worker polling task queue /,
    );
    // The bound: every waiting run listed within 5 s with no worker.
    expect(ms).toBeLessThan(5_000);

    const json = JSON.parse((await longhaul('pending', '--json')).stdout) as unknown[];
    expect(json).toContainEqual({
      runId: 'nw-ask-1',
      escalation: expect.objectContaining({
        id: 'esc-1',
        kind: 'model_request',
        question: 'Proceed with the migration?',
      }),
      source: 'memo',
      taskQueue: h.taskQueue,
    });

    // A completed run: from its result, exactly as with a worker.
    const status = await longhaul('status', 'nw-done');
    expect(status).toMatchObject({ code: 0, stderr: '' });
    expect(status.stdout).toMatch(/^turn 1\/500 · .* · run 1 of the chain · completed\n$/);
    expect(JSON.parse((await longhaul('status', 'nw-done', '--json')).stdout)).toMatchObject({
      status: 'completed',
      source: 'result',
      report: 'all good',
    });
    // A waiting run: from the memo, and a line says so and what needs a worker.
    const asked = await longhaul('status', 'nw-ask-1');
    expect(asked.code).toBe(0);
    expect(asked.stdout).toMatch(
      /^turn 1\/500 · tokens \S+ · cost \$\S+ · compactions 0 · run 1 of the chain · awaiting a person: model_request esc-1 — Proceed with the migration\?\n/,
    );
    expect(asked.stdout.split('\n')[1]).toBe(
      `(from the memo, which may be a few turns behind: no worker answered within 1 s; live figures need a worker polling task queue ${h.taskQueue})`,
    );
    expect(await longhaul('status', 'no-such-run')).toMatchObject({
      code: 1,
      stderr: 'longhaul: no run with id "no-such-run"\n',
    });

    // An answer without a worker says what happens to it, instead of hanging.
    const approve = await longhaul('approve', 'nw-write');
    expect(approve.code).toBe(1);
    expect(approve.stderr).toBe(
      `longhaul: no worker took the approve within 10 s: it applies once a worker polls task queue ${h.taskQueue} (if the server still holds it then); longhaul status nw-write shows whether it did\n`,
    );

    for (const id of ['nw-ask-1', 'nw-ask-2', 'nw-write'])
      await h.env.client.workflow.getHandle(id).terminate('test over');
  });
});

describe('stop and cancel', () => {
  it('stop ends a busy run after its step as stopped, with the reason; stop again is refused with why; cancel ends as cancelled', async () => {
    await withWorker(async () => {
      // A long audit: busy when stopped.
      const { handle: busy } = await startAudit(h, 'stop-busy', 300);
      const id = busy.workflowId;
      while (((await busy.describe()).memo as RunMemo | undefined)?.status !== 'running') await sleep(100);
      const stop = await longhaul('stop', id, '--message', 'enough for today');
      expect(stop).toMatchObject({
        code: 0,
        stdout: `stop sent to ${id}: it ends as stopped after the step in flight (longhaul follow ${id} shows its end)\n`,
      });
      const result = await awaitResult(busy);
      expect(result.status).toBe('stopped');
      expect(result.reason).toMatch(/^stopped by cli:\S+: enough for today$/);
      expect(result.counters.turn).toBeLessThan(300);
      const again = await longhaul('stop', id);
      expect(again).toMatchObject({
        code: 2,
        stderr: `longhaul: run ${id} has ended (stopped); nothing to answer or stop\n`,
      });
      expect((await longhaul('status', id)).stdout).toMatch(/ · stopped\n$/);

      // A waiting run: stop closes the escalation with decision stop.
      const asked = await start('stop-waiting', '[sim:ask-human]');
      const followed = longhaul('follow', 'stop-waiting');
      await waitingInMemo('stop-waiting');
      await sleep(1_500); // follow polls every 500 ms
      expect((await longhaul('stop', 'stop-waiting')).code).toBe(0);
      // follow showed the question and the exact commands that answer it.
      const { stderr } = await followed;
      expect(stderr).toContain('waiting on a person: model_request esc-1 — Proceed with the migration?\n');
      expect(stderr).toContain(
        '  answer: longhaul reply stop-waiting "your answer"  |  longhaul approve stop-waiting  |  longhaul deny stop-waiting --message "why not"  |  longhaul stop stop-waiting\n',
      );
      expect((await awaitResult(asked)).status).toBe('stopped');

      const cancel = await start('cancel-waiting', '[sim:ask-human]');
      await waitingInMemo('cancel-waiting');
      expect(await longhaul('cancel', 'cancel-waiting')).toMatchObject({
        code: 0,
        stdout:
          'cancellation requested for cancel-waiting: it ends now as cancelled, the step in flight abandoned and no report written (longhaul stop ends it after the step, keeping the report)\n',
      });
      await cancel.result().catch(() => undefined);
      expect((await longhaul('status', 'cancel-waiting')).stdout).toMatch(/ · cancelled\n$/);
      const rows = (await longhaul('list')).stdout.split('\n');
      expect(rows.find((l) => l.startsWith('cancel-waiting '))).toMatch(
        /^cancel-waiting +cancelled +\S+ +\S+ +\S+ \S+ +CANCELLED$/,
      );
    });
  });
});
