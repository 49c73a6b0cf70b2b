import type { WorkflowHandle } from '@temporalio/client';
import { createServer } from 'node:http';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { auditGroundTruth, auditReport } from '../simulator/scenarios/audit.js';
import type { AgentRunWorkflow } from '../common/messages.js';
import type { HumanResponse } from '../common/escalation.js';
import { humanResponseSignal, progressQuery, respondUpdate, type Progress } from '../common/messages.js';
import type { RunOptionsInput } from '../common/options.js';
import { LONGHAUL_ESCALATION, LONGHAUL_STATUS } from '../common/search-attributes.js';
import { startRun } from '../client/connect.js';
import { effects, startAudit } from './helpers/audit-run.js';
import { cli } from './helpers/cli.js';
import { freePort } from './helpers/free-port.js';
import { useHarness } from './helpers/harness.js';

type Handle = WorkflowHandle<AgentRunWorkflow>;
/** The webhook receiver's port, known before the worker starts: the worker posts only to origins on its allow-list. */
const hookPort = await freePort();
const h = useHarness({ worker: { webhookAllow: [`http://127.0.0.1:${hookPort}`] } });
let seq = 0;

async function start(task: string, extra: Partial<RunOptionsInput> = {}, taskQueue = h.taskQueue): Promise<Handle> {
  const workspace = join(h.dir, `ws-${++seq}`);
  await mkdir(workspace, { recursive: true });
  return startRun(
    h.env.client,
    // The harness's worker lets runs allow writes (the audits here do); these ask first, as by default.
    { task, workspace, toolPolicies: { write_file: 'approve' }, ...extra },
    { taskQueue, workflowId: `esc-test-${seq}-${Date.now()}` },
  );
}

async function until(handle: Handle, test: (p: Progress) => boolean): Promise<Progress> {
  for (;;) {
    const p = await handle.query(progressQuery);
    if (test(p)) return p;
    await sleep(100);
  }
}
const waiting = (handle: Handle) => until(handle, (p) => p.escalation !== null);
const respond = (handle: Handle, r: Omit<HumanResponse, 'escalationId'> & { escalationId?: string }, id: string) =>
  handle.executeUpdate(respondUpdate, { args: [{ escalationId: id, ...r }] });

describe('escalation triggers and answers', () => {
  it('every trigger opens an escalation visible by query, search attribute and `longhaul pending`, and each answer acts', async () => {
    const audit = (name: string, extra: Partial<RunOptionsInput>) =>
      startAudit(h, name, 10, { maxTurns: 200, ...extra }).then((r) => r.handle);
    const runs = {
      model_request: await start('[sim:ask-human]'),
      tool_approval: await start('[sim:write]'),
      turn_cap: await audit('cap', { maxTurns: 4 }),
      token_budget: await audit('budget', { tokenBudget: 8_000 }),
      failures: await start('[sim:fail-tools]', { escalation: { maxConsecutiveFailures: 3 } }),
      refusal: await start('[sim:refuse]'),
    };
    const opened = Object.fromEntries(
      await Promise.all(
        Object.entries(runs).map(async ([kind, handle]) => [kind, (await waiting(handle)).escalation!] as const),
      ),
    );
    for (const [kind, escalation] of Object.entries(opened)) expect(escalation.kind).toBe(kind);
    expect(opened.tool_approval!.heldToolCall).toMatchObject({ name: 'write_file', input: { path: 'out.txt' } });
    expect(opened.failures!.reason).toBe('3 failures in a row; the last: read_file: missing-3.txt does not exist');

    for (const [kind, handle] of Object.entries(runs)) {
      const { typedSearchAttributes, memo } = await handle.describe();
      expect(typedSearchAttributes.get(LONGHAUL_STATUS)).toBe('awaiting_human');
      expect(typedSearchAttributes.get(LONGHAUL_ESCALATION)).toBe(kind);
      // The memo tells the Web UI what a run is doing without a query.
      expect(memo).toMatchObject({
        status: 'awaiting_human',
        runInChain: 1,
        waitingOnPerson: `${kind} esc-1: ${opened[kind]!.question}`,
        // Enough to list and answer it without a worker's query.
        escalation: { id: 'esc-1', kind, deadline: opened[kind]!.deadline },
      });
      expect(Object.keys(memo!).sort()).toEqual([
        'cacheReadShare',
        'compactions',
        'costUsd',
        'escalation',
        'maxTurns',
        'runInChain',
        'status',
        'tokensUsed',
        'turn',
        'waitingOnPerson',
      ]);
    }
    const listed = await cli(h.env.address, h.taskQueue, ['pending', '--json']);
    expect(listed.code).toBe(0);
    const pending = JSON.parse(listed.stdout) as { runId: string; escalation: { id: string; kind: string } }[];
    for (const [kind, handle] of Object.entries(runs)) {
      expect(pending).toContainEqual({ runId: handle.workflowId, escalation: expect.objectContaining({ kind }) });
    }

    // Answers, one per kind; approve goes through the CLI.
    const approved = await cli(h.env.address, h.taskQueue, ['approve', runs.tool_approval.workflowId]);
    expect(approved).toMatchObject({ code: 0, stdout: expect.stringContaining('approve sent for esc-1') });
    await respond(runs.model_request, { decision: 'reply', message: 'yes, go ahead' }, 'esc-1');
    await respond(runs.turn_cap, { decision: 'extend', turns: 30 }, 'esc-1');
    await respond(runs.token_budget, { decision: 'stop', message: 'too expensive' }, 'esc-1');
    await respond(runs.failures, { decision: 'reply', message: 'read item-001.txt instead' }, 'esc-1');
    await respond(runs.refusal, { decision: 'reply', message: 'it is a sanctioned test' }, 'esc-1');

    expect((await runs.model_request.result()).report).toBe('human answered: A person replied: yes, go ahead');
    const write = await runs.tool_approval.result();
    expect(write.report).toBe('write succeeded: wrote 6 bytes to out.txt');
    expect((await effects(h)).filter((l) => l.startsWith(`${runs.tool_approval.workflowId}/`))).toHaveLength(1);
    const capped = await runs.turn_cap.result();
    expect(capped).toMatchObject({ status: 'completed', report: auditReport(10, auditGroundTruth(10)) });
    expect(capped.counters.turn).toBeGreaterThan(4);
    expect(await runs.token_budget.result()).toMatchObject({
      status: 'stopped',
      reason: expect.stringContaining('stopped by human: too expensive'),
    });
    expect((await runs.failures.result()).report).toBe('guidance: A person says: read item-001.txt instead');
    expect((await runs.refusal.result()).report).toBe('after refusal: A person says: it is a sanctioned test');
    const finished = await runs.tool_approval.describe();
    expect(finished.typedSearchAttributes.get(LONGHAUL_STATUS)).toBe('completed');
    expect(finished.memo).toMatchObject({ status: 'completed', turn: 2 });
    expect(finished.memo).not.toHaveProperty('waitingOnPerson');
    expect((finished.memo as { tokensUsed: number }).tokensUsed).toBeGreaterThan(0);
  });

  it('deny reaches the model as a tool error with the message, and nothing is written', async () => {
    const run = await start('[sim:write]');
    await waiting(run);
    const denied = await cli(h.env.address, h.taskQueue, ['deny', run.workflowId, '--message', 'not on a Friday']);
    expect(denied.code).toBe(0);
    expect((await run.result()).report).toBe('write failed: A person declined this write_file call: not on a Friday');
    expect((await effects(h)).filter((l) => l.startsWith(`${run.workflowId}/`))).toHaveLength(0);
  });

  it('stop ends the run with a clear final status', async () => {
    const run = await start('[sim:ask-human]');
    await waiting(run);
    await respond(run, { decision: 'stop', message: 'wrong task' }, 'esc-1');
    expect(await run.result()).toMatchObject({ status: 'stopped', reason: 'stopped by human: wrong task' });
  });

  it('a timeout applies the configured default and records it', async () => {
    const denied = await start('[sim:write]', { escalation: { timeoutSeconds: 1, onTimeout: 'deny' } });
    const stopped = await start('[sim:ask-human]', { escalation: { timeoutSeconds: 1, onTimeout: 'stop' } });
    const d = await denied.result();
    expect(d.report).toBe(
      'write failed: Nobody answered this write_file call in time: No person answered within 1 s; the request is declined.',
    );
    expect(d.escalations[0]!.outcome).toMatchObject({ decision: 'deny', by: 'timeout' });
    const s = await stopped.result();
    expect(s.status).toBe('stopped');
    expect(s.escalations[0]!.outcome).toMatchObject({ decision: 'stop', by: 'timeout' });
  });

  it('refuses invalid answers with a reason and leaves the run unchanged; malformed signals are recorded and ignored', async () => {
    const { handle: run } = await startAudit(h, 'invalid', 10, { maxTurns: 2 });
    await waiting(run);
    await respond(run, { decision: 'extend', turns: 2 }, 'esc-1');
    const before = await until(run, (p) => p.escalation?.id === 'esc-2');

    const refused = async (r: unknown) => {
      const err = await run.executeUpdate(respondUpdate, { args: [r as HumanResponse] }).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(err).toBeInstanceOf(Error);
      return (err as Error & { cause?: Error }).cause?.message ?? (err as Error).message;
    };
    expect(await refused({ escalationId: 'esc-9', decision: 'stop' })).toBe(
      'no open escalation esc-9 (the open one is esc-2)',
    );
    expect(await refused({ escalationId: 'esc-1', decision: 'stop' })).toBe('escalation esc-1 is already closed');
    expect(await refused({ escalationId: 'esc-2', decision: 'launch' })).toMatch(/^decision: /);
    expect(await refused({ escalationId: 'esc-2', decision: 'extend', turns: -5 })).toBe(
      'turns: turns must be a positive whole number',
    );
    expect(await refused({ escalationId: 'esc-2', decision: 'approve' })).toBe(
      'approve does not answer a turn_cap escalation; use extend, stop',
    );
    const cliRefusal = await cli(h.env.address, h.taskQueue, [
      'extend',
      run.workflowId,
      '--escalation',
      'esc-7',
      '--turns',
      '3',
    ]);
    expect(cliRefusal).toMatchObject({
      code: 2,
      stderr: 'longhaul: refused: no open escalation esc-7 (the open one is esc-2)\n',
    });

    for (const junk of [{ foo: 1 }, 'garbage', null, { escalationId: 'esc-2', decision: 'extend' }]) {
      await run.signal(humanResponseSignal, junk);
    }
    const after = await until(run, (p) => p.ignoredResponses.length === 4);
    expect(after.status).toBe('awaiting_human');
    expect(after.escalation).toEqual(before.escalation);
    expect(after.escalations).toEqual(before.escalations);
    expect(after.counters).toEqual(before.counters);
    expect(after.ignoredResponses.at(-1)!.reason).toBe('extend of a turn cap needs turns > 0');

    // A task that needs its message: deny of a tool call.
    const write = await start('[sim:write]');
    const { escalation } = await waiting(write);
    const err = await respond(write, { decision: 'deny' }, escalation!.id).then(
      () => undefined,
      (e: Error & { cause?: Error }) => e.cause?.message,
    );
    expect(err).toBe('deny needs a message: the model is told why');
    await respond(write, { decision: 'approve' }, escalation!.id);
    await write.result();
    await respond(run, { decision: 'stop' }, 'esc-2');
    expect((await run.result()).status).toBe('stopped');
  });

  it('posts the escalation to a webhook', async () => {
    const received: unknown[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req
        .on('data', (c) => (body += c))
        .on('end', () => {
          received.push(JSON.parse(body));
          res.writeHead(204).end();
        });
    });
    await new Promise<void>((r) => server.listen(hookPort, '127.0.0.1', r));
    const run = await start('[sim:ask-human]', { escalation: { webhookUrl: `http://127.0.0.1:${hookPort}/hook` } });
    await waiting(run);
    while (received.length === 0) await sleep(50);
    expect(received[0]).toMatchObject({
      type: 'longhaul.escalation.opened',
      workflowId: run.workflowId,
      escalation: { id: 'esc-1', kind: 'model_request', question: 'Proceed with the migration?' },
    });
    await respond(run, { decision: 'reply', message: 'ok' }, 'esc-1');
    await run.result();
    server.close();
  });
});

describe('a waiting escalation across a worker crash', () => {
  it('an answer signalled while no worker runs is acted on when a new worker starts', async () => {
    // A queue of its own, so that the in-process worker cannot pick the run up.
    const queue = `${h.taskQueue}-crash`;
    const child = await h.spawnWorker(queue);
    const run = await start('[sim:ask-human]', {}, queue);
    await waiting(run);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    await run.signal(humanResponseSignal, { escalationId: 'esc-1', decision: 'reply', message: 'answered while down' });
    const next = await h.spawnWorker(queue);
    expect((await run.result()).report).toBe('human answered: A person replied: answered while down');
    next.kill('SIGTERM');
  });
});
