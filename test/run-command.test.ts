import Anthropic from '@anthropic-ai/sdk';
import { MockActivityEnvironment } from '@temporalio/testing';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, realpath, rm, symlink } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../activities/index.js';
import { intentRecord, ledgerKey, readRecord } from '../activities/ledger.js';
import { runToolCall } from '../activities/run-tool.js';
import type { PendingBlock, ToolRunInput } from '../common/contracts.js';
import { DirectoryStore } from '../store/directory-store.js';
import { codingTools, type CodingToolOptions } from '../tools/coding/index.js';
import { bwrapProblem } from '../tools/coding/sandbox.js';
import type { ToolOutput } from '../tools/define.js';

/** run_command with real processes: the worker's secrets, timeouts, process groups, the ledger, the sandbox. */
const repoRoot = join(import.meta.dirname, '..');
const SECRETS = {
  ANTHROPIC_API_KEY: `sk-ant-test-${randomBytes(8).toString('hex')}`,
  LONGHAUL_ENCRYPTION_KEYS: `k1:${randomBytes(32).toString('base64')}`,
  TEMPORAL_API_KEY: `temporal-test-${randomBytes(8).toString('hex')}`,
};
const noBwrap = await bwrapProblem();
const modes = noBwrap === undefined ? (['off', 'bwrap'] as const) : (['off'] as const);
if (noBwrap !== undefined) console.warn(`run-command.test.ts: the sandbox tests are skipped: ${noBwrap}`);

let base: string;
let workspace: string;
let outside: string;
let store: DirectoryStore;
let seq = 0;

beforeAll(async () => {
  base = await realpath(await mkdtemp(join(tmpdir(), 'longhaul-cmd-')));
  workspace = join(base, 'ws');
  outside = join(base, 'outside');
  await mkdir(join(workspace, 'sub'), { recursive: true });
  await mkdir(outside);
  await symlink(outside, join(workspace, 'escape'));
  store = new DirectoryStore(join(base, 'store'));
});
afterAll(() => rm(base, { recursive: true, force: true }));

const toolsOf = (options: CodingToolOptions) => new Map(codingTools(options).map((t) => [t.name, t]));
const inputOf = (input: object): ToolRunInput => ({
  workflowId: 'wf',
  turn: 1,
  workspace,
  call: { id: `toolu_${++seq}`, name: 'run_command', input },
});
const run = (sandbox: 'off' | 'bwrap', input: object, signal?: AbortSignal) =>
  runToolCall(toolsOf({ sandbox }), store, inputOf(input), undefined, signal);

/** A `sleep` no other process has: its argument marks it in /proc. */
const marker = () => `${900 + Math.floor(Math.random() * 99)}.${randomBytes(3).readUIntBE(0, 3)}`;

/** Whether a process other than a zombie has `sleep <mark>` as its command line. */
async function sleeping(mark: string): Promise<boolean> {
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const [cmdline, stat] = await Promise.all([
      readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => ''),
      readFile(`/proc/${pid}/stat`, 'utf8').catch(() => ''),
    ]);
    if (cmdline === `sleep\0${mark}\0` && !/^\d+ \(.*\) Z/.test(stat)) return true;
  }
  return false;
}

/** Waits (at most a few seconds: SIGKILL is delivered at once, reaping may lag) until no such sleep is left. */
async function gone(mark: string): Promise<boolean> {
  for (let i = 0; i < 50; i++) {
    if (!(await sleeping(mark))) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

describe.each(modes)('run_command with the sandbox %s', (sandbox) => {
  it("cannot print the worker's secrets: its environment holds only harmless variables", async () => {
    const command =
      'env; echo "api=[$ANTHROPIC_API_KEY] enc=[$LONGHAUL_ENCRYPTION_KEYS] temporal=[$TEMPORAL_API_KEY]"' +
      // Inside the sandbox the worker's process is not even visible in /proc.
      (sandbox === 'bwrap' ? '; cat /proc/$PPID/environ /proc/*/environ 2>/dev/null | tr "\\0" "\\n"' : '');
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        '--import',
        'tsx',
        join(repoRoot, 'test/helpers/tool-process.ts'),
        JSON.stringify({
          workspace,
          storeDir: join(base, 'store'),
          options: { sandbox },
          name: 'run_command',
          input: { command },
        }),
      ],
      { cwd: repoRoot, env: { ...process.env, ...SECRETS } },
    );
    const out = JSON.parse(stdout) as ToolOutput;
    expect(out.content).toContain('api=[] enc=[] temporal=[]');
    expect(out.content).toMatch(/^PATH=/m);
    for (const secret of Object.values(SECRETS)) expect(out.content).not.toContain(secret);
    expect(out.content).not.toMatch(/ANTHROPIC_API_KEY=|LONGHAUL_ENCRYPTION_KEYS=|TEMPORAL_API_KEY=/);
  });

  it('is stopped at its timeout with its whole process group: a child and a grandchild', async () => {
    const [child, grandchild] = [marker(), marker()];
    const out = await run(sandbox, {
      command: `sleep ${child} & sh -c 'sleep ${grandchild} & wait' & echo started; wait`,
      timeout_seconds: 1,
    });
    expect(out.isError).toBe(true);
    expect(out.content).toBe('started\n[timed out after 1 s: the command and its process group were killed]');
    expect(await gone(child)).toBe(true);
    expect(await gone(grandchild)).toBe(true);
  });

  it('kills what a finished command left running in the background', async () => {
    const left = marker();
    const out = await run(sandbox, { command: `sleep ${left} > /dev/null 2>&1 & echo started` });
    expect(out).toEqual({ content: 'started\n[exit code 0]' });
    expect(await gone(left)).toBe(true);
  });

  it('reports a non-zero exit with its output, not as a tool error; stdin is closed', async () => {
    const out = await run(sandbox, { command: 'cat; echo out; echo err >&2; exit 3' });
    expect(out.isError).toBeUndefined();
    expect(out.content).toContain('out\n');
    expect(out.content).toContain('err\n');
    expect(out.content.endsWith('[exit code 3]')).toBe(true);
  });

  it('caps long output, keeping its head and tail with a note', async () => {
    const out = await run(sandbox, { command: 'seq 1 200000' });
    expect(out.content.startsWith('1\n2\n3\n')).toBe(true);
    expect(out.content.endsWith('199999\n200000\n[exit code 0]')).toBe(true);
    expect(out.content).toMatch(
      /\[… \d+ bytes of output cut here: 1288895 in all, the first 12000 and the last 12000 kept …\]/,
    );
    expect(out.content.length).toBeLessThan(25_000);
  });

  it('runs in the workspace, or a directory of it; never one outside', async () => {
    expect(await run(sandbox, { command: 'pwd' })).toEqual({ content: `${workspace}\n[exit code 0]` });
    expect(await run(sandbox, { command: 'pwd', cwd: 'sub' })).toEqual({
      content: `${join(workspace, 'sub')}\n[exit code 0]`,
    });
    for (const [cwd, why] of [
      ['..', 'leaves the workspace'],
      ['escape', 'outside the workspace through a symlink'],
      ['/etc', 'is absolute'],
    ] as const) {
      expect(await run(sandbox, { command: 'pwd', cwd })).toMatchObject({
        isError: true,
        content: expect.stringContaining(why),
      });
    }
  });

  it('stops the command and its group when the activity is cancelled', async () => {
    const activities = createActivities({
      anthropic: new Anthropic({ apiKey: 'unused' }),
      store,
      tools: codingTools({ sandbox }),
      workspaceRoots: [base],
      toolPolicies: { run_command: 'allow' },
    });
    const left = marker();
    const env = new MockActivityEnvironment();
    const result = env.run<[ToolRunInput], PendingBlock, typeof activities.runTool>(
      activities.runTool,
      inputOf({ command: `sleep ${left}` }),
    );
    while (!(await sleeping(left))) await new Promise((r) => setTimeout(r, 50));
    env.cancel();
    const block = await result;
    expect(block).toMatchObject({
      is_error: true,
      content: expect.stringContaining('[cancelled: the command and its process group were killed]'),
    });
    expect(await gone(left)).toBe(true);
  });
});

describe("run_command under its own default policy, 'approve'", () => {
  it('runs a command on the allow-list without a person; holds any other, and one with a metacharacter', async () => {
    const activities = createActivities({
      anthropic: new Anthropic({ apiKey: 'unused' }),
      store,
      tools: codingTools({ sandbox: 'off', commandAllow: ['echo allowed'] }),
      workspaceRoots: [base],
    });
    const runTool = (command: string) =>
      new MockActivityEnvironment().run<[ToolRunInput], PendingBlock, typeof activities.runTool>(
        activities.runTool,
        inputOf({ command }),
      );
    expect(await runTool('echo allowed here')).toMatchObject({ content: 'allowed here\n[exit code 0]' });
    for (const command of ['echo other > held.txt', 'echo allowed; echo x > held.txt']) {
      expect(await runTool(command)).toMatchObject({
        is_error: true,
        content: "run_command needs a person's approval on this worker, and this call has none",
      });
    }
    expect(existsSync(join(workspace, 'held.txt'))).toBe(false);
  });
});

describe('run_command and the idempotency ledger', () => {
  it('records a finished command under its key before reporting it; a retry reports it and does not run it again', async () => {
    const input = inputOf({ command: 'echo ran >> count.txt; wc -l < count.txt' });
    const tools = toolsOf({ sandbox: 'off' });
    const first = await runToolCall(tools, store, input);
    expect(first).toEqual({ content: '1\n[exit code 0]' });
    expect(readRecord('k', (await store.getRecord(ledgerKey(input)))!)).toEqual({ state: 'done', output: first });
    expect(await runToolCall(tools, store, input)).toEqual(first);
    expect(await readFile(join(workspace, 'count.txt'), 'utf8')).toBe('ran\n');
  });

  it('reports a command cut off by a crash as such, and does not run it again', async () => {
    const input = inputOf({ command: 'echo ran >> cut.txt' });
    // What a worker killed mid-command leaves: the intent, no result.
    await store.createRecord(ledgerKey(input), intentRecord('run_command'));
    const out = await runToolCall(toolsOf({ sandbox: 'off' }), store, input);
    expect(out.isError).toBe(true);
    expect(out.content).toContain('run_command was cut off before its result was recorded');
    expect(out.content).toContain('It was not run again');
    expect(existsSync(join(workspace, 'cut.txt'))).toBe(false);
  });
});

describe.skipIf(noBwrap !== undefined)(`run_command in the sandbox${noBwrap ? ` (skipped: ${noBwrap})` : ''}`, () => {
  let server: Server;
  let port: number;
  let connections = 0;
  beforeAll(async () => {
    server = createServer((socket) => {
      connections++;
      // The client exits as soon as it connects: a reset here is expected.
      socket.on('error', () => {});
      socket.end('hello\n');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('cannot write outside the workspace, nor to the real /tmp; it can write in the workspace', async () => {
    const probe = `longhaul-probe-${randomBytes(4).toString('hex')}`;
    // /var/tmp (writable by anyone outside the sandbox, and not under /tmp, where the sandbox has a private tmpfs), /etc, the
    // workspace's sibling, and through a symlink.
    const elsewhere = join('/var/tmp', probe);
    const out = await run('bwrap', {
      command:
        `echo x > ${elsewhere}; echo x > /etc/${probe}; echo x > ${outside}/written; echo x > escape/via-link; ` +
        `echo x > /tmp/${probe} && echo private-tmp; echo ok > inside.txt`,
    });
    expect(out.content.match(/Read-only file system/g)).toHaveLength(2);
    expect(out.content).toContain('private-tmp');
    expect(existsSync(elsewhere)).toBe(false);
    await rm(elsewhere, { force: true });
    expect(existsSync(`/etc/${probe}`)).toBe(false);
    expect(await readdir(outside)).toEqual([]);
    expect(existsSync(join(tmpdir(), probe))).toBe(false);
    expect(await readFile(join(workspace, 'inside.txt'), 'utf8')).toBe('ok\n');
  });

  it("cannot write the workspace's .git, where a hook would run for whoever next uses the repository", async () => {
    await mkdir(join(workspace, '.git/hooks'), { recursive: true });
    try {
      const out = await run('bwrap', { command: 'echo evil > .git/hooks/pre-commit; ls .git' });
      expect(out.content).toBe(
        '/bin/sh: 1: cannot create .git/hooks/pre-commit: Read-only file system\nhooks\n[exit code 0]',
      );
      expect(await readdir(join(workspace, '.git/hooks'))).toEqual([]);
    } finally {
      await rm(join(workspace, '.git'), { recursive: true });
    }
  });

  it('cannot open a network connection, even to loopback; without the sandbox the same command can', async () => {
    const command =
      `node -e "require('net').connect(${port}, '127.0.0.1')` +
      `.on('connect', () => { console.log('connected'); process.exit(0); })` +
      `.on('error', (e) => { console.log('no connection: ' + e.code); process.exit(1); })"`;
    const sandboxed = await run('bwrap', { command });
    expect(sandboxed.content).toMatch(/^no connection: E[A-Z]+\n\[exit code 1\]$/);
    expect(connections).toBe(0);
    // The control: the command and the server work, so the refusal above is the sandbox's.
    expect(await run('off', { command })).toEqual({ content: 'connected\n[exit code 0]' });
    expect(connections).toBe(1);
  });
});
