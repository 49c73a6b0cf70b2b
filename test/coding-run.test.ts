import type { WorkflowHandle } from '@temporalio/client';
import { execFile, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { defineAgent } from '../agents/define.js';
import { startRun } from '../client/connect.js';
import { answer } from '../client/escalations.js';
import type { AgentRunWorkflow, Progress } from '../common/messages.js';
import { progressQuery } from '../common/messages.js';
import { codingTask, writeCodingWorkspace } from '../simulator/scenarios/coding.js';
import { codingTools } from '../tools/coding/index.js';
import { workspaceTools } from '../tools/workspace-tools.js';
import { effects } from './helpers/audit-run.js';
import { useHarness } from './helpers/harness.js';

/**
 * The coding scenario end to end: a real worker with the coding tools, the simulator's scripted
 * model, a repository with a failing test. run_command keeps its default policy (approve): the
 * test command waits for a person, once; `git diff` is on the allow-list and runs without asking.
 */

const sh = promisify(execFile);
const ALLOW = ['git diff', 'ls'];
const FIX_REPORT =
  'Fixed mean in src/math.js: it divided the sum by values.length - 1; it now divides by values.length.';
const coder = defineAgent({
  name: 'coder',
  systemPrompt: 'You are a careful coding agent.',
  tools: [...workspaceTools, ...codingTools({ commandAllow: ALLOW })],
  // The edit is the task: the agent may make it; commands not on the allow-list still ask.
  toolPolicies: { edit_file: 'allow' },
});

const h = useHarness({ worker: { agents: [coder] } });
type Handle = WorkflowHandle<AgentRunWorkflow>;
let seq = 0;

async function start(task: string, extra: { agent?: string; taskQueue?: string } = {}) {
  const workspace = join(h.dir, `repo-${++seq}`);
  await writeCodingWorkspace(workspace);
  const { taskQueue = h.taskQueue, agent } = extra;
  const handle = await startRun(
    h.env.client,
    { task, workspace, ...(agent ? { agent } : { toolPolicies: { edit_file: 'allow' } }) },
    { taskQueue, workflowId: `coding-${seq}-${Date.now()}` },
  );
  return { handle, workspace };
}

/** Polls progress until `test` holds; a run that ended first fails the test with its reason. */
async function until(handle: Handle, test: (p: Progress) => boolean): Promise<Progress> {
  for (;;) {
    // A query to a worker just killed or not yet polling fails; the run is still there.
    const p = await handle.query(progressQuery).catch(() => undefined);
    if (p && test(p)) return p;
    if (p && p.status !== 'running' && p.status !== 'awaiting_human')
      throw new Error(`run ${handle.workflowId} is ${p.status}: ${p.reason ?? p.report ?? ''}`);
    await sleep(100);
  }
}

const testsPass = (workspace: string) =>
  sh('node', ['--test'], { cwd: workspace }).then(
    () => true,
    () => false,
  );
/** The effects journal's run_command lines of one run: one per command actually run. */
const commandsRun = async (workflowId: string) =>
  (await effects(h)).filter((line) => line.startsWith(`${workflowId}/`) && line.includes(' run_command'));

describe('a coding task end to end', () => {
  it('greps, reads, edits, runs the approved test command and the allow-listed review, and reports the pass', async () => {
    const { handle, workspace } = await start(codingTask({ reviewCommand: 'git diff' }), { agent: 'coder' });
    expect(await testsPass(workspace)).toBe(false);

    const { escalation } = await until(handle, (p) => p.escalation !== null);
    expect(escalation).toMatchObject({
      kind: 'tool_approval',
      heldToolCall: { name: 'run_command', input: { command: 'node --test' } },
    });
    // What a person decides on: the command line and where it runs.
    expect(escalation!.question).toContain('node --test');
    expect(escalation!.question).toContain(workspace);
    expect(await answer(h.env.client, handle.workflowId, 'approve', {})).toBe(
      `approve sent for ${escalation!.id} of ${handle.workflowId}`,
    );

    const result = await handle.result();
    expect(result.status).toBe('completed');
    expect(result.report).toBe(
      `${FIX_REPORT} The test command \`node --test\` passed (exit code 0, 2 tests passed). ` +
        '`git diff` shows the change: +  return sum(values) / values.length;',
    );
    // One person, once: the allow-listed git diff did not ask.
    expect(result.escalations.map((e) => e.kind)).toEqual(['tool_approval']);
    expect(result.state.itemsDone).toEqual(['src/math.js']);
    expect(await testsPass(workspace)).toBe(true);
    expect(await commandsRun(handle.workflowId)).toHaveLength(2);
  });

  it('a test command a person declines is not run, and the report says the fix is untested', async () => {
    const { handle, workspace } = await start(codingTask({ reviewCommand: 'git diff' }), { agent: 'coder' });
    await until(handle, (p) => p.escalation !== null);
    await answer(h.env.client, handle.workflowId, 'deny', { message: 'not on this machine' });
    const result = await handle.result();
    expect(result.report).toBe(
      `${FIX_REPORT} I have no result from the test command \`node --test\`: ` +
        'A person declined this run_command call: not on this machine',
    );
    expect(await commandsRun(handle.workflowId)).toEqual([]);
    // The edit was made (edit_file is allowed); only the command waited for a person.
    expect(await testsPass(workspace)).toBe(true);
  });

  it('each command runs once across a SIGKILL of the worker right after the test command finished', async () => {
    // A queue of its own, served only by worker processes with the coding tools (LONGHAUL_TOOLS).
    const queue = `${h.taskQueue}-crash`;
    const workerEnv = {
      LONGHAUL_TOOLS: 'workspace,coding',
      LONGHAUL_COMMAND_ALLOW: ALLOW.join(','),
      LONGHAUL_TOOL_POLICIES: 'write_file=allow,edit_file=allow',
    };
    // This one hangs once it recorded a command's result, before it can report it.
    const first = await h.spawnWorker(queue, workerEnv, { holdAfterResult: 'run_command' });
    const held = printed(first, 'held after recording the result of run_command');
    // The test command counts its runs in the workspace (the only place a sandboxed command may write).
    const testCommand = 'echo ran >> test-runs.log && node --test';
    const { handle, workspace } = await start(codingTask({ testCommand, reviewCommand: 'git diff' }), {
      taskQueue: queue,
    });
    const { escalation } = await until(handle, (p) => p.escalation !== null);
    expect(escalation!.heldToolCall).toMatchObject({ name: 'run_command', input: { command: testCommand } });
    await answer(h.env.client, handle.workflowId, 'approve', {});

    await held;
    expect(await runsOf(workspace)).toBe(1);
    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));

    // `longhaul worker` itself from here on: its retry of the call finds the recorded result.
    const second = await h.spawnWorker(queue, workerEnv);
    const result = await handle.result();
    expect(result.status).toBe('completed');
    expect(result.report).toContain(`The test command \`${testCommand}\` passed (exit code 0, 2 tests passed).`);
    expect(result.report).toContain('`git diff` shows the change: +  return sum(values) / values.length;');
    expect(await runsOf(workspace)).toBe(1);
    expect(await commandsRun(handle.workflowId)).toHaveLength(2);
    // The call's activity did run again, on the second worker; the ledger answered it.
    expect(await retriedToolCalls(handle)).toBeGreaterThan(0);
    expect(await testsPass(workspace)).toBe(true);
    second.kill('SIGTERM');
  });
});

const runsOf = async (workspace: string) =>
  (await readFile(join(workspace, 'test-runs.log'), 'utf8')).split('\n').filter(Boolean).length;

/** Resolves once the child process has printed `line` on stdout. */
function printed(child: ChildProcess, line: string): Promise<void> {
  let output = '';
  return new Promise((resolve) =>
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes(line)) resolve();
    }),
  );
}

/** Attempts of the run's tool-call activities (runTool) after their first. */
async function retriedToolCalls(handle: Handle): Promise<number> {
  const events = (await handle.fetchHistory()).events ?? [];
  const runTool = new Set(
    events
      .filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'runTool')
      .map((e) => String(e.eventId)),
  );
  return events.filter((e) => {
    const started = e.activityTaskStartedEventAttributes;
    return started && runTool.has(String(started.scheduledEventId)) && (started.attempt ?? 1) > 1;
  }).length;
}
