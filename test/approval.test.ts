import type { WorkflowHandle } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdir, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { defineAgent } from '../agents/define.js';
import { startRun } from '../client/connect.js';
import type { Escalation } from '../common/escalation.js';
import { escalationQuery, progressQuery, respondUpdate, type AgentRunWorkflow } from '../common/messages.js';
import type { RunOptionsInput } from '../common/options.js';
import { cli } from './helpers/cli.js';
import { deploys, deployTool } from './helpers/deploy-tool.js';
import { freePort } from './helpers/free-port.js';
import { useHarness } from './helpers/harness.js';
import { testWorker } from './helpers/test-worker.js';

type Handle = WorkflowHandle<AgentRunWorkflow>;

/** A user's agent whose deploy tool needs a person for prod only (its own policy, approve, is the ceiling). */
const ops = defineAgent({ name: 'ops', systemPrompt: 'You deploy releases.', tools: [deployTool] });
const hookPort = await freePort();
const h = useHarness({ worker: { agents: [ops], webhookAllow: [`http://127.0.0.1:${hookPort}`] } });
let seq = 0;

/** `[sim:calls]`: the simulated model makes these calls one a reply, then reports each result. */
const calls = (...list: [string, unknown][]) => `[sim:calls] ${JSON.stringify(list)}`;

async function start(task: string, extra: Partial<RunOptionsInput> = {}, taskQueue = h.taskQueue) {
  const workspace = join(h.dir, `ws-${++seq}`);
  await mkdir(workspace, { recursive: true });
  const handle: Handle = await startRun(
    h.env.client,
    { task, workspace, agent: 'ops', ...extra },
    { taskQueue, workflowId: `approval-test-${seq}-${Date.now()}` },
  );
  return { handle, workspace: await realpath(workspace) };
}

/** The run's open escalation once it is `id`. */
async function escalation(handle: Handle, id: string): Promise<Escalation> {
  for (;;) {
    const open = await handle.query(escalationQuery);
    if (open?.id === id) return open;
    await sleep(100);
  }
}

/** `longhaul follow` as a child process: its stderr so far, and its end. */
function follow(runId: string) {
  const bin = fileURLToPath(new URL('../bin/longhaul.mjs', import.meta.url));
  const child = spawn(process.execPath, [bin, 'follow', runId], {
    env: { ...process.env, TEMPORAL_ADDRESS: h.env.address, LONGHAUL_TASK_QUEUE: h.taskQueue },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  child.stdout.resume();
  const ended = new Promise<number | null>((resolve) => child.on('exit', resolve));
  return {
    /** Resolves once follow has printed `text`. */
    async printed(text: string): Promise<void> {
      while (!stderr.includes(text)) await sleep(100);
    },
    ended,
    stderr: () => stderr,
  };
}

describe('approval per call: a tool with needsApproval', () => {
  it('holds exactly the calls it names, shows its detail in the escalation, pending, the webhook and follow; approved runs, denied does not', async () => {
    const received: { escalation: Escalation }[] = [];
    const hooks = createServer((req, res) => {
      let body = '';
      req
        .on('data', (c) => (body += c))
        .on('end', () => {
          received.push(JSON.parse(body) as { escalation: Escalation });
          res.writeHead(204).end();
        });
    });
    await new Promise<void>((r) => hooks.listen(hookPort, '127.0.0.1', r));
    const { handle, workspace } = await start(
      calls(
        ['deploy', { target: 'staging', version: '1' }],
        // Large enough that the model call stores the input by reference: it is decided all the same.
        ['deploy', { target: 'staging', version: '2', notes: 'n'.repeat(10_000) }],
        ['deploy', { target: 'prod', version: '3' }],
        ['deploy', { target: 'prod', version: '4' }],
      ),
      { escalation: { webhookUrl: `http://127.0.0.1:${hookPort}/hook` } },
    );
    const followed = follow(handle.workflowId);

    const first = await escalation(handle, 'esc-1');
    expect(first).toMatchObject({
      kind: 'tool_approval',
      question: `Approve deploy target="prod" version="3"?\nrelease 3 goes to prod\nbuilt from ${workspace}`,
      heldToolCall: { name: 'deploy', input: { target: 'prod', version: '3' } },
    });
    // The staging deploys needed nobody: they ran, and no escalation was opened for them.
    expect(await deploys(workspace)).toEqual(['1 staging', '2 staging']);
    expect((await handle.query(progressQuery)).escalations).toEqual([]);

    const pending = await cli(h.env.address, h.taskQueue, ['pending']);
    expect(pending.code).toBe(0);
    const lines = pending.stdout.split('\n');
    expect(lines.find((l) => l.startsWith(handle.workflowId))).toMatch(
      /tool_approval .* Approve deploy target="prod" version="3"\?$/,
    );
    const below = lines.indexOf(`${handle.workflowId} esc-1:`);
    expect(lines.slice(below + 1, below + 3)).toEqual(['    release 3 goes to prod', `    built from ${workspace}`]);
    while (received.length === 0) await sleep(50);
    expect(received[0]!.escalation).toMatchObject({ id: 'esc-1', question: first.question });
    await followed.printed('    release 3 goes to prod\n');

    expect(await cli(h.env.address, h.taskQueue, ['approve', handle.workflowId])).toMatchObject({ code: 0 });
    const second = await escalation(handle, 'esc-2');
    expect(second.question).toBe(
      `Approve deploy target="prod" version="4"?\nrelease 4 goes to prod\nbuilt from ${workspace}`,
    );
    await followed.printed('    release 4 goes to prod\n');
    const denied = await cli(h.env.address, h.taskQueue, [
      'deny',
      handle.workflowId,
      '--message',
      'one prod deploy a day',
    ]);
    expect(denied.code).toBe(0);

    const result = await handle.result();
    expect(result.report).toBe(
      'deploy ok: deployed 1 to staging | deploy ok: deployed 2 to staging | deploy ok: deployed 3 to prod | ' +
        'deploy error: A person declined this deploy call: one prod deploy a day',
    );
    expect(await deploys(workspace)).toEqual(['1 staging', '2 staging', '3 prod']);
    expect(result.escalations.map((e) => [e.id, e.kind, e.outcome.decision])).toEqual([
      ['esc-1', 'tool_approval', 'approve'],
      ['esc-2', 'tool_approval', 'deny'],
    ]);
    expect(await followed.ended).toBe(0);
    hooks.close();
  });

  it('the worker asks the tool again before running it: a run admitted under a looser profile gets no unapproved prod deploy', async () => {
    // A queue of its own: a worker whose ops agent allowed deploy admits the run, then the
    // worker is replaced by one where deploy is back under its own policy (approve).
    const queue = `${h.taskQueue}-recheck`;
    const site = {
      connection: h.env.nativeConnection,
      taskQueue: queue,
      storeDir: h.storeDir,
      simulatorUrl: h.simulator.url,
    };
    const loose = defineAgent({ ...ops, toolPolicies: { deploy: 'allow' } });
    const run = async (worker: Worker) => ({ worker, running: worker.run() });
    const before = await run(await testWorker(site, { agents: [loose] }));
    const { handle, workspace } = await start(
      calls(
        ['escalate_to_human', { reason: 'a release window', question: 'Go ahead?' }],
        ['deploy', { target: 'prod', version: '9' }],
        ['deploy', { target: 'staging', version: '10' }],
      ),
      {},
      queue,
    );
    await escalation(handle, 'esc-1');
    before.worker.shutdown();
    await before.running;
    const after = await run(await testWorker(site, { agents: [ops] }));
    await handle.executeUpdate(respondUpdate, { args: [{ escalationId: 'esc-1', decision: 'reply', message: 'go' }] });
    const result = await handle.result();
    // The run's own policy (allow, admitted under the loose profile) did not hold the prod call;
    // the worker did, with no approval on record. Staging, which needs nobody, ran.
    expect(result.report).toBe(
      'escalate_to_human ok: A person replied: go | ' +
        "deploy error: deploy needs a person's approval for agent ops, and this call has none | " +
        'deploy ok: deployed 10 to staging',
    );
    expect(await deploys(workspace)).toEqual(['10 staging']);
    after.worker.shutdown();
    await after.running;
  });
});
