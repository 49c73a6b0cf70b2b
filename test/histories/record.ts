/**
 * Records the JSON histories that test/replay.test.ts replays against the current workflow code:
 * `npx tsx test/histories/record.ts [NAME…]` (all when no name is given). Re-record only for a
 * change that no running workflow can meet (see docs/workflow-changes.md); otherwise keep the
 * recordings, add new ones for new paths, and use `patched()`.
 */
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureTemporalCli } from '../../scripts/temporal-cli.mjs';
import { startRun } from '../../client/connect.js';
import { writeWorkflowBundle } from '../../worker/bundle.js';
import type { AgentRunWorkflow } from '../../common/messages.js';
import { humanResponseSignal, progressQuery, respondUpdate, stopRunUpdate } from '../../common/messages.js';
import type { RunOptionsInput } from '../../common/options.js';
import { auditTask, writeAuditWorkspace } from '../../simulator/scenarios/audit.js';
import { codingTask, writeCodingWorkspace } from '../../simulator/scenarios/coding.js';
import { defineAgent } from '../../agents/define.js';
import { codingTools } from '../../tools/coding/index.js';
import { workspaceTools } from '../../tools/workspace-tools.js';
import { chainHistories } from '../helpers/chain.js';
import { startHarness, type Harness } from '../helpers/harness.js';
import { wordCounter } from '../../examples/word-count/agent.js';

// The coding tools under their own policies: edit_file and run_command hold their calls for a
// person, except a command on the allow-list (no sandbox, so that the run needs no bubblewrap).
const coder = defineAgent({
  name: 'coder',
  systemPrompt: 'You are a careful coding agent.',
  tools: [...workspaceTools, ...codingTools({ commandAllow: ['git diff'], sandbox: 'off' })],
});

const outDir = fileURLToPath(new URL('.', import.meta.url));
process.env.TEMPORAL_CLI = ensureTemporalCli();
process.env.LONGHAUL_WORKFLOW_BUNDLE = await writeWorkflowBundle();

/** Approves each escalation of the run as it comes, until the run ends. */
async function approveAll(h: Harness, workflowId: string): Promise<void> {
  const handle = h.env.client.workflow.getHandle<AgentRunWorkflow>(workflowId);
  const approved = new Set<string>();
  for (;;) {
    const p = await handle.query(progressQuery).catch(() => undefined);
    if (p && p.status !== 'running' && p.status !== 'awaiting_human') return;
    if (p?.escalation && !approved.has(p.escalation.id)) {
      approved.add(p.escalation.id);
      await handle.executeUpdate(respondUpdate, { args: [{ escalationId: p.escalation.id, decision: 'approve' }] });
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function waitForEscalation(h: Harness, workflowId: string): Promise<string> {
  for (;;) {
    const p = await h.env.client.workflow.getHandle<AgentRunWorkflow>(workflowId).query(progressQuery).catch(() => undefined);
    if (p?.escalation) return p.escalation.id;
    await new Promise((r) => setTimeout(r, 100));
  }
}

const only = new Set(process.argv.slice(2));

/** Runs one scenario to its end and writes the history of every run in its chain. */
async function record(h: Harness, name: string, options: Partial<RunOptionsInput> & { task: string }, drive?: (workflowId: string) => Promise<void>) {
  if (only.size && !only.has(name)) return;
  const workspace = join(h.dir, name);
  await mkdir(workspace, { recursive: true });
  if (options.task.startsWith('Audit the ')) await writeAuditWorkspace(workspace, Number(/\d+/.exec(options.task)![0]));
  if (options.task.startsWith('Coding task:')) await writeCodingWorkspace(workspace);
  if (options.agent === wordCounter.name) await writeFile(join(workspace, 'notes.txt'), 'four words right here\n');
  const handle = await startRun(h.env.client, { workspace, ...options }, { taskQueue: h.taskQueue, workflowId: `recorded-${name}` });
  await drive?.(handle.workflowId);
  await handle.result();
  const runs = await chainHistories(h.env.client, handle.workflowId);
  for (const [i, run] of runs.entries()) {
    const history = await h.env.client.workflow.getHandle(handle.workflowId, run.runId).fetchHistory();
    await writeFile(join(outDir, `${name}-${i + 1}.json`), historyToJSON(history));
  }
  process.stdout.write(`${name}: ${runs.length} run(s)\n`);
}

// Both servers and workers up front, run side by side: a worker created after another has
// stopped is shut down with it.
const plain = await startHarness();
// A server that suggests continue-as-new early, to record a switch while a person is asked.
const eager = await startHarness({ dynamicConfig: { 'limit.historyCount.suggestContinueAsNew': 40 } });
const [worker, eagerWorker] = await Promise.all([plain.startWorker({ agents: [wordCounter, coder] }), eager.startWorker()]);
await Promise.all([
  worker.runUntil(async () => {
    await record(plain, 'plain', { task: 'Reply with: recorded' });
    await record(plain, 'compaction', { task: auditTask(60), compaction: { trigger: 50_000 }, toolPolicies: { write_file: 'allow' } });
    await record(plain, 'escalation', { task: '[sim:write]' }, async (id) => {
      const escalationId = await waitForEscalation(plain, id);
      await plain.env.client.workflow.getHandle<AgentRunWorkflow>(id).executeUpdate(respondUpdate, { args: [{ escalationId, decision: 'approve' }] });
    });
    // Reads as local activities, writes as activities (since tools carry `sideEffectFree`).
    await record(plain, 'local-tools', { task: auditTask(8), toolPolicies: { write_file: 'allow' } });
    // A named agent: its profile read by a local activity, its own tool run locally.
    await record(plain, 'agent', { agent: 'word-counter', task: '[sim:call count_words] {"path":"notes.txt"}' });
    // Patch parallel-tool-calls: the reads before the write run together, the write alone, then
    // the read of what it wrote and another list together; the results in the reply's order.
    await record(plain, 'parallel', {
      task: [
        ['list_files', { path: '.' }],
        ['list_files', { path: '.' }],
        ['write_file', { path: 'note.txt', content: 'recorded\n' }],
        ['read_file', { path: 'note.txt' }],
        ['list_files', { path: '.' }],
      ]
        .map(([tool, input]) => `In one reply: call ${tool as string} with ${JSON.stringify(input)}`)
        .join('\n'),
      toolPolicies: { write_file: 'allow' },
    });
    // Approval per call: the edit and the test command wait for a person (each with what it would
    // do), the allow-listed `git diff` runs without asking (its call recorded with needsApproval: false).
    await record(plain, 'coding', { agent: coder.name, task: codingTask({ reviewCommand: 'git diff' }) }, (id) =>
      approveAll(plain, id),
    );
  }),
  eagerWorker.runUntil(
    record(eager, 'continue-as-new', { task: '[sim:ask-human]' }, async (id) => {
      const handle = eager.env.client.workflow.getHandle<AgentRunWorkflow>(id);
      const escalationId = await waitForEscalation(eager, id);
      for (let i = 0; i < 15; i++) await handle.signal(humanResponseSignal, { junk: i });
      for (;;) {
        const p = await handle.query(progressQuery).catch(() => undefined);
        if (p && p.chain.runNumber >= 2) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      await handle.signal(humanResponseSignal, { escalationId, decision: 'reply', message: 'recorded' });
    }).then(() =>
      // Patch visible-run-ends: the first run says `continued` as it hands on (the second starts
      // live), and a stopRun while the person is asked closes the escalation as that stop.
      record(eager, 'visible-ends', { task: '[sim:ask-human]' }, async (id) => {
        const handle = eager.env.client.workflow.getHandle<AgentRunWorkflow>(id);
        await waitForEscalation(eager, id);
        for (let i = 0; i < 15; i++) await handle.signal(humanResponseSignal, { junk: i });
        for (;;) {
          const p = await handle.query(progressQuery).catch(() => undefined);
          if (p && p.chain.runNumber >= 2 && p.escalation) break;
          await new Promise((r) => setTimeout(r, 100));
        }
        await handle.executeUpdate(stopRunUpdate, { args: [{ by: 'recorder', message: 'recorded stop' }] });
      }),
    ),
  ),
]);
await Promise.all([plain.close(), eager.close()]);
