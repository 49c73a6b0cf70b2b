import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { Worker } from '@temporalio/worker';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { auditTask } from '../simulator/scenarios/audit.js';
import { LONGHAUL_STATUS } from '../common/search-attributes.js';
import { startAudit, startAuditOn } from './helpers/audit-run.js';
import { cli } from './helpers/cli.js';
import { freePort } from './helpers/free-port.js';
import { useHarness } from './helpers/harness.js';

const h = useHarness({ worker: {} });
let workspace: string;
// Task files the CLI must refuse (written while the file is collected: the refusals are a table).
const nulTask = join(tmpdir(), `longhaul-cli-nul-${process.pid}.md`);
writeFileSync(nulTask, 'Summarize the logs\0and delete them');
const latin1Task = join(tmpdir(), `longhaul-cli-latin1-${process.pid}.md`);
writeFileSync(latin1Task, Buffer.from('R\xe9sum\xe9 the logs', 'latin1'));
const longhaul = (...args: string[]) => cli(h.env.address, h.taskQueue, args);

beforeAll(async () => {
  workspace = await mkdtemp(join(tmpdir(), 'longhaul-cli-'));
});

describe('longhaul CLI', () => {
  it('run submits, follows and prints the report with the figures', async () => {
    const out = await longhaul('run', '--task', 'Reply with: all good', '--workspace', workspace, '--id', 'cli-run-1');
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(
      /^cli-run-1\nstatus: completed\nturns: 1 over 1 Temporal run .*\ntokens: .*\ncache: written \d+ .* cost \$\d+\.\d+\nhistory: \d+ events, \d+ KiB over 1 run \(largest run \d+ KiB\)\n\nreport:\nall good\n$/,
    );
    const status = await longhaul('status', 'cli-run-1');
    expect(status.stdout).toMatch(/^turn 1\/500 · .* · run 1 of the chain · completed\n$/);
    expect((await longhaul('result', 'cli-run-1')).stdout).toContain('report:\nall good');
    // The Web UI names each activity by its summary.
    const { events } = await h.env.client.workflow.getHandle('cli-run-1').fetchHistory();
    const summaries = events!
      .map((e) => e.userMetadata?.summary?.data)
      .filter((d): d is Uint8Array => !!d)
      .map((d) => JSON.parse(Buffer.from(d).toString()));
    expect(summaries).toContain('model call, turn 1');
  });

  it('run with a model outside the table warns, submits, and fails at the first call naming the model', async () => {
    const out = await longhaul(
      'run',
      '--task',
      'Reply with: x',
      '--workspace',
      workspace,
      '--model',
      'claude-sonet-5-5',
      '--id',
      'cli-typo',
    );
    expect(out.stderr).toContain(
      "warning: --model claude-sonet-5-5 is not in longhaul's model table (no price, no known limits)",
    );
    expect(out.stdout + out.stderr).toContain('the API does not know the model "claude-sonet-5-5"');
    expect(out.code).not.toBe(0);
  });

  it('a run started around the CLI with bad options fails at once, naming the fields', async () => {
    // Not startRun: it refuses these options before submitting; here the workflow must refuse them.
    const handle = await h.env.client.workflow.start('agentRun', {
      taskQueue: h.taskQueue,
      workflowId: `bad-options-${Date.now()}`,
      args: [{ options: { task: 'x', workspace, maxTurns: 0, compaction: { trigger: 1 } } }],
    });
    const err = await handle.result().then(
      () => undefined,
      (e: Error & { cause?: Error & { type?: string } }) => e.cause,
    );
    expect(err?.type).toBe('InvalidRunOptions');
    expect(err?.message).toBe(
      'invalid run options: maxTurns: Too small: expected number to be >0; compaction.trigger: compaction trigger must be at least 50000 input tokens',
    );
  });

  it('list, status --json, result --json and cancel', async () => {
    const listed = await longhaul('list', '--json');
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout)).toContainEqual(
      expect.objectContaining({ runId: 'cli-run-1', status: 'completed', temporalStatus: 'COMPLETED' }),
    );
    // Sorted as shown: newest start first.
    const starts = (JSON.parse(listed.stdout) as { startedAt: string }[]).map((r) => r.startedAt);
    expect(starts).toEqual([...starts].sort().reverse());
    expect(JSON.parse((await longhaul('list', '--status', 'running', '--json')).stdout)).not.toContainEqual(
      expect.objectContaining({ runId: 'cli-run-1' }),
    );
    expect(await longhaul('list', '--status', 'sleeping')).toMatchObject({
      code: 2,
      stderr:
        'longhaul: --status: expected one of running, awaiting_human, completed, stopped, failed, cancelled, continued, got "sleeping"\n',
    });
    expect(JSON.parse((await longhaul('status', 'cli-run-1', '--json')).stdout)).toMatchObject({
      status: 'completed',
      report: 'all good',
    });
    expect(JSON.parse((await longhaul('result', 'cli-run-1', '--json')).stdout)).toMatchObject({
      status: 'completed',
      report: 'all good',
    });

    const waiting = await longhaul(
      'submit',
      '--task',
      '[sim:ask-human]',
      '--workspace',
      workspace,
      '--id',
      'cli-cancel',
    );
    expect(waiting.code).toBe(0);
    const handle = h.env.client.workflow.getHandle('cli-cancel');
    while ((await handle.describe()).typedSearchAttributes.get(LONGHAUL_STATUS) !== 'awaiting_human') await sleep(100);
    expect(await longhaul('cancel', 'cli-cancel')).toMatchObject({
      code: 0,
      stdout:
        'cancellation requested for cli-cancel: it ends now as cancelled, the step in flight abandoned and no report written (longhaul stop ends it after the step, keeping the report)\n',
    });
    await handle.result().catch(() => undefined);
    expect((await handle.describe()).status.name).toBe('CANCELLED');
  });

  it.each([
    'run',
    'submit',
    'status',
    'follow',
    'result',
    'list',
    'cancel',
    'export',
    'pending',
    'approve',
    'deny',
    'reply',
    'extend',
    'stop',
    'held',
    'worker',
    'codec-server',
    'console',
  ])('`%s --help` exits 0 with its own page and an example', async (command) => {
    const out = await longhaul(command, '--help');
    expect(out.code).toBe(0);
    expect(out.stdout.startsWith(`usage: longhaul ${command}`)).toBe(true);
    expect(out.stdout).toContain('example:');
    expect(out).toEqual(await longhaul('help', command));
  });

  it('help pages give the defaults from the code, and say how stop differs from cancel', async () => {
    const run = (await longhaul('run', '--help')).stdout;
    expect(run).toContain('--max-turns N                    default 500;');
    expect(run).toContain('default 86400 s (1 day)');
    expect((await longhaul('submit', '--help')).stdout).toContain('usage: longhaul submit [run options]');
    expect((await longhaul('stop', '--help')).stdout).toContain('after the step in flight');
    expect((await longhaul('cancel', '--help')).stdout).toContain("through Temporal's cancellation");
    const exportPage = (await longhaul('export', '--help')).stdout;
    expect(exportPage).not.toContain('a worker must be polling');
    expect(exportPage).toContain('every Temporal run of its chain');
    expect((await longhaul('console', '--help')).stdout).toContain('LONGHAUL_CONSOLE_TOKEN');
    expect(await longhaul('approve', 'x', '--turns', '5')).toMatchObject({ code: 2 });
  });

  const refusals: [string[], string][] = [
    [
      ['submit', '--task', 'x', '--compaction-trigger', '10000'],
      'longhaul: --compaction-trigger: compaction trigger must be at least 50000 input tokens',
    ],
    [['submit', '--task', 'x', '--max-turns', 'many'], 'longhaul: --max-turns: expected a whole number, got "many"'],
    [['submit', '--task', 'x', '--frobnicate'], "longhaul: Unknown option '--frobnicate'"],
    [['submit', '--task', '   '], 'longhaul: --task: task is empty'],
    [['submit'], 'longhaul: a task is required: --task "…" or --task-file PATH'],
    [
      ['submit', '--task-file', '/nonexistent/task.md'],
      'longhaul: --task-file: cannot read /nonexistent/task.md: ENOENT',
    ],
    [
      ['submit', '--task', 'x', '--tool-policy', 'write_file=maybe'],
      'longhaul: --tool-policy: Invalid option: expected one of "allow"|"approve"|"deny"',
    ],
    [['submit', '--task', 'x', '--webhook', 'not a url'], 'longhaul: --webhook: webhookUrl is not a URL'],
    [
      ['submit', '--task', 'x', '--agent', 'two words'],
      'longhaul: --agent: agent must be letters, digits, - or _ (at most 64)',
    ],
    [['submit', '--task', 'x'.repeat(100_001)], 'longhaul: --task: task is longer than 100000 characters'],
    [['launch'], 'longhaul: unknown command "launch"; see longhaul --help'],
    [
      ['submit', '--task', 'x', '--budget-usd', '$5'],
      'longhaul: --budget-usd: expected an amount in dollars such as 2.50, got "$5"',
    ],
    [
      ['submit', '--task', 'x', '--budget-usd', '1e3'],
      'longhaul: --budget-usd: expected an amount in dollars such as 2.50, got "1e3"',
    ],
    [['submit', '--task', 'x', '--budget-usd', '0'], 'longhaul: --budget-usd: budgetUsd must be more than 0'],
    [['submit', '--task-file', nulTask], `longhaul: --task-file: ${nulTask} holds NUL bytes; a task is text`],
    [['submit', '--task-file', latin1Task], `longhaul: --task-file: ${latin1Task} is not UTF-8 text`],
  ];
  it('extend --usd refuses what is not an amount in dollars, with one line, before reaching a server', async () => {
    const out = await longhaul('extend', 'no-such-run', '--usd', 'lots');
    expect(out).toMatchObject({ code: 2, stdout: '' });
    expect(out.stderr).toBe('longhaul: --usd: expected an amount in dollars such as 2.50, got "lots"\n');
  });

  it.each(refusals.map(([args, message]) => [message.slice(10, 70), args, message] as const))(
    'refuses bad input with one line, exit 2, and submits nothing: %s',
    async (_, args, message) => {
      const out = await longhaul(...args, '--id', 'must-not-exist');
      expect(out).toMatchObject({ code: 2, stdout: '' });
      expect(out.stderr).toBe(`${message}\n`);
      const described = await h.env.client.workflow
        .getHandle('must-not-exist')
        .describe()
        .then(
          () => 'exists',
          () => 'absent',
        );
      expect(described).toBe('absent');
    },
  );

  it.each(['bad\nid', 'tab\there', 'esc\u001b[31m', 'a/b', ' leading-space', '.dot-first', 'x'.repeat(201)])(
    'refuses the run id %j with one line, exit 2, and submits nothing',
    async (id) => {
      const out = await longhaul('submit', '--task', 'x', '--workspace', workspace, '--id', id);
      expect(out).toMatchObject({ code: 2, stdout: '' });
      expect(out.stderr).toBe(
        `longhaul: --id: run id ${JSON.stringify(id.slice(0, 60))} must be 1 to 200 letters, digits, ., _, -, : or @, starting with a letter or digit\n`,
      );
      const described = await h.env.client.workflow
        .getHandle(id)
        .describe()
        .then(
          () => 'exists',
          () => 'absent',
        );
      expect(described).toBe('absent');
    },
  );

  it('an unreachable TEMPORAL_ADDRESS fails with one line naming it and what to check', async () => {
    const address = `127.0.0.1:${await freePort()}`;
    const out = await cli(address, h.taskQueue, ['list']);
    expect(out).toMatchObject({ code: 1, stdout: '' });
    expect(out.stderr).toMatch(
      new RegExp(
        `^longhaul: cannot reach Temporal at ${address} \\(TEMPORAL_ADDRESS\\) within 5 s: .*; check that the server runs there and that TEMPORAL_ADDRESS, TEMPORAL_TLS and TEMPORAL_API_KEY fit it\n$`,
      ),
    );
  });
});

describe('a client without the encryption keys', () => {
  it('lists every run and every pending escalation it can read, and names each run it cannot read', async () => {
    const keys = `k1:${randomBytes(32).toString('base64')}`;
    const queue = `${h.taskQueue}-sealed`;
    const worker = await h.spawnWorker(queue, { LONGHAUL_ENCRYPTION_KEYS: keys });
    const withKeys = (...args: string[]) => cli(h.env.address, queue, args, { LONGHAUL_ENCRYPTION_KEYS: keys });
    try {
      const ask = ['submit', '--task', '[sim:ask-human]', '--workspace', workspace, '--id'];
      expect((await withKeys(...ask, 'cli-sealed')).code).toBe(0);
      expect((await longhaul(...ask, 'cli-plain-waiting')).code).toBe(0);
      // Both wait on a person (the memo, encrypted for the sealed one, is written by then).
      const waiting = async () =>
        (JSON.parse((await withKeys('pending', '--json')).stdout) as { runId: string }[]).map((p) => p.runId);
      for (let ids = await waiting(); !['cli-sealed', 'cli-plain-waiting'].every((id) => ids.includes(id));) {
        await sleep(200);
        ids = await waiting();
      }
      const cannot =
        'cannot read cli-sealed: encrypted with key "k1", which this client does not have (LONGHAUL_ENCRYPTION_KEYS)';

      const pending = await longhaul('pending');
      expect(pending).toMatchObject({ code: 0, stderr: '' });
      const lines = pending.stdout.trimEnd().split('\n');
      expect(lines[0]).toMatch(/^RUN +ESCALATION +KIND/);
      expect(lines.filter((l) => l.startsWith('cli-plain-waiting '))).toHaveLength(1);
      expect(lines.filter((l) => l.includes('cli-sealed'))).toEqual([cannot]);
      expect(JSON.parse((await longhaul('pending', '--json')).stdout)).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            runId: 'cli-plain-waiting',
            escalation: expect.objectContaining({ kind: 'model_request' }),
          }),
          { runId: 'cli-sealed', unreadable: cannot.slice('cannot read cli-sealed: '.length) },
        ]),
      );

      const list = await longhaul('list');
      expect(list).toMatchObject({ code: 0, stderr: '' });
      const rows = list.stdout.trimEnd().split('\n');
      // Its status is a search attribute, never encrypted: the row is whole, and the line says what is not.
      expect(rows.filter((l) => l.startsWith('cli-sealed '))[0]).toMatch(
        /^cli-sealed +awaiting_human +\? +\? +\S+ \S+ +RUNNING$/,
      );
      expect(rows.filter((l) => l.startsWith('cli-plain-waiting '))).toHaveLength(1);
      expect(rows.filter((l) => l.startsWith('cli-run-1 '))).toHaveLength(1);
      expect(rows.at(-1)).toBe(cannot);
      expect(rows.filter((l) => l.startsWith('cannot read'))).toEqual([cannot]);
      const listed = JSON.parse((await longhaul('list', '--json')).stdout) as { runId: string; unreadable?: string }[];
      expect(listed.find((r) => r.runId === 'cli-sealed')?.unreadable).toMatch(/^encrypted with key "k1"/);
      expect(listed.find((r) => r.runId === 'cli-plain-waiting')).not.toHaveProperty('unreadable');
      // With the keys, nothing is unreadable.
      expect((await withKeys('list')).stdout).not.toContain('cannot read');
    } finally {
      await withKeys('cancel', 'cli-sealed');
      await longhaul('cancel', 'cli-plain-waiting');
      worker.kill('SIGTERM');
      await new Promise((resolve) => worker.once('exit', resolve));
    }
  });
});

describe('longhaul export', () => {
  const FILES = 12;
  let runId: string;
  let report: string;
  /** The CLI reads the transcript from the store the test's worker writes. */
  const exportCli = (...args: string[]) =>
    cli(h.env.address, h.taskQueue, ['export', ...args], { LONGHAUL_STORE_DIR: h.storeDir });

  beforeAll(async () => {
    // Continue-as-new every 10 turns: the audit's ~15 turns make a chain of two Temporal runs.
    const { handle } = await startAudit(h, 'cli-export', FILES, { continueAsNewEvery: 10 });
    const result = await handle.result();
    expect(result).toMatchObject({ status: 'completed', chain: { runNumber: 2 } });
    runId = handle.workflowId;
    report = result.report!;
  });

  it('markdown: the system prompt and task, tool calls with their inputs and results, the report', async () => {
    const out = await exportCli(runId, '--format', 'markdown');
    expect(out).toMatchObject({ code: 0, stderr: '' });
    expect(out.stdout).toMatch(new RegExp(`^# longhaul run ${runId}\n\nturn \\d+/62 · .* · completed\n`));
    expect(out.stdout).toContain(`## Task\n\n${auditTask(FILES)}\n`);
    expect(out.stdout).toContain('### user\n\nBegin the task described in the system prompt.');
    expect(out.stdout).toMatch(
      /### assistant, turn 1\n[\s\S]*\*\*tool call\*\* `read_file` \(\S+\)\n\n```json\n\{\n {2}"path": "[^"]+"\n\}\n```/,
    );
    expect(out.stdout).toMatch(/\*\*tool result\*\* for \S+\n\n```+\n/);
    expect(out.stdout).toContain('**tool call** `finish`');
    expect(out.stdout.endsWith(`## Report\n\n${report}\n`)).toBe(true);
  });

  it('json (--format json, or --json): run metadata and the messages as the API gets them', async () => {
    const out = await exportCli(runId, '--format', 'json');
    expect(out.code).toBe(0);
    const doc = JSON.parse(out.stdout);
    expect(doc).toMatchObject({
      id: runId,
      status: 'completed',
      report,
      instructions: { task: auditTask(FILES) },
      chain: { runNumber: 2 },
    });
    expect(doc.counters.turn).toBeGreaterThan(FILES);
    expect(doc.state).toEqual(await h.env.client.workflow.getHandle(runId).query('state'));
    expect(doc.messages[0]).toEqual({
      role: 'user',
      content: [{ type: 'text', text: 'Begin the task described in the system prompt.' }],
    });
    expect(doc.messages.map((m: { role: string }) => m.role)).toEqual(
      doc.messages.map((_: unknown, i: number) => (i % 2 ? 'assistant' : 'user')),
    );
    const toolNames = doc.messages.flatMap((m: { content: { type: string; name?: string }[] }) =>
      m.content.filter((b) => b.type === 'tool_use').map((b) => b.name),
    );
    expect(toolNames).toEqual(expect.arrayContaining(['read_file', 'update_state', 'finish']));
    expect((await exportCli(runId, '--json')).stdout).toBe(out.stdout);
  });

  it('--out and --history write files: the history of every run of the chain, replayable', async () => {
    const mdFile = join(workspace, 'run.md');
    const historyFile = join(workspace, 'history.json');
    const out = await exportCli(runId, '--out', mdFile, '--history', historyFile);
    expect(out.code).toBe(0);
    expect(out.stdout).toBe('');
    expect(out.stderr).toMatch(
      /^history: \d+ events over 2 runs written to .*history\.json\ntranscript \(\d+ messages\) written to .*run\.md\n$/,
    );
    expect(await readFile(mdFile, 'utf8')).toBe((await exportCli(runId)).stdout);

    const doc = JSON.parse(await readFile(historyFile, 'utf8'));
    expect(doc.workflowId).toBe(runId);
    expect(doc.runs).toHaveLength(2);
    expect(doc.runs.at(-1).runId).toBe((await h.env.client.workflow.getHandle(runId).describe()).runId);
    for (const run of doc.runs) expect(run.history.events[0].eventType).toBe('EVENT_TYPE_WORKFLOW_EXECUTION_STARTED');
    expect(doc.runs[1].history.events[0].workflowExecutionStartedEventAttributes.continuedExecutionRunId).toBe(
      doc.runs[0].runId,
    );
    // The form `historyFromJSON` reads: each run replays against the workflow code.
    const replays = Worker.runReplayHistories(
      { workflowBundle: { codePath: process.env.LONGHAUL_WORKFLOW_BUNDLE! } },
      doc.runs.map((r: { runId: string; history: unknown }) => ({
        workflowId: runId,
        history: historyFromJSON(r.history),
      })),
    );
    for await (const replay of replays) expect(replay.error).toBeUndefined();
  });

  it('a bad id or an unreadable store is a one-line error, exit 1', async () => {
    expect(await exportCli('no-such-run')).toEqual({
      code: 1,
      stdout: '',
      stderr: 'longhaul: no run with id "no-such-run"\n',
    });
    const empty = join(workspace, 'no-store');
    const out = await cli(h.env.address, h.taskQueue, ['export', runId], { LONGHAUL_STORE_DIR: empty });
    expect(out).toMatchObject({ code: 1, stdout: '' });
    expect(out.stderr).toMatch(
      new RegExp(
        `^longhaul: cannot read the transcript of ${runId} from the store at ${empty} \\(LONGHAUL_STORE_DIR\\): transcript store has no blob sha256:[0-9a-f]{64}[^\n]*\n$`,
      ),
    );
  });

  it('reads a closed run from its result, with no worker left to answer queries', async () => {
    const queue = `export-no-worker-${Math.random().toString(36).slice(2, 8)}`;
    const worker = await h.spawnWorker(queue);
    const { handle } = await startAuditOn(
      { client: h.env.client, taskQueue: queue, dir: h.dir },
      'cli-export-closed',
      3,
    );
    const result = await handle.result();
    worker.kill('SIGKILL');
    await new Promise((resolve) => worker.once('exit', resolve));
    const out = await exportCli(handle.workflowId, '--format', 'json');
    expect(out).toMatchObject({ code: 0, stderr: '' });
    const doc = JSON.parse(out.stdout);
    expect(doc).toMatchObject({
      status: 'completed',
      report: result.report,
      maxTurns: 53,
      state: result.state,
      instructions: { task: auditTask(3) },
    });
    expect(
      doc.messages
        .at(-1)
        .content.some((b: { type: string; name?: string }) => b.type === 'tool_use' && b.name === 'finish'),
    ).toBe(true);
  });

  it('refuses a bad format', async () => {
    expect(await exportCli(runId, '--format', 'pdf')).toEqual({
      code: 2,
      stdout: '',
      stderr: 'longhaul: --format: expected markdown or json, got "pdf"\n',
    });
  });
});
