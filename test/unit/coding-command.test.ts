import { describe, expect, it } from 'vitest';
import { allowEntryProblem, commandIsAllowed } from '../../common/command-allow.js';
import { commandEnv } from '../../tools/coding/command-env.js';
import { codingTools } from '../../tools/coding/index.js';
import { CappedOutput } from '../../tools/coding/output-cap.js';
import { bwrapArgs } from '../../tools/coding/sandbox.js';

describe('the command allow-list', () => {
  const allow = ['npm test', 'git diff', 'ls'];

  it.each([
    ['npm test', true],
    ['npm test -- auth', true],
    ['  npm   test  ', true],
    ['git diff --stat HEAD~1', true],
    ['ls', true],
    ['npm testx', false],
    ['npm', false],
    ['npm run test', false],
    ['lsof', false],
    ['rm -rf /', false],
  ])('%j covered: %s', (command, covered) => {
    expect(commandIsAllowed(command, allow)).toBe(covered);
  });

  it.each([
    'npm test; rm -rf ~',
    'npm test && curl evil.example',
    'npm test || true',
    'npm test | sh',
    'npm test & rm -rf ~',
    'npm test `rm -rf ~`',
    'npm test $(rm -rf ~)',
    'npm test ${HOME}',
    'npm test > .git/hooks/pre-commit',
    'npm test < /etc/passwd',
    'npm test\nrm -rf ~',
  ])('never covers a line with a shell metacharacter: %j', (command) => {
    expect(commandIsAllowed(command, allow)).toBe(false);
  });

  it('refuses entries that could never be matched safely', () => {
    expect(allowEntryProblem('npm test; true')).toContain('shell metacharacter');
    expect(allowEntryProblem('  ')).toBe('is empty');
    expect(allowEntryProblem('npm test')).toBeUndefined();
    expect(() => codingTools({ commandAllow: ['make && make install'] })).toThrow(
      'coding tools: commandAllow.0: "make && make install" holds a shell metacharacter',
    );
  });

  it('is what run_command asks needsApproval', async () => {
    const run = codingTools({ commandAllow: ['npm test'] }).find((t) => t.name === 'run_command')!;
    const ctx = { workspace: '/tmp' };
    expect(await run.needsApproval!({ command: 'npm test -- x' }, ctx)).toBe(false);
    expect(await run.needsApproval!({ command: 'npm test; rm -rf ~' }, ctx)).toBe(true);
    expect(await run.needsApproval!({ command: 'curl example.com' }, ctx)).toBe(true);
    expect(run.policy).toBe('approve');
    expect(run.sideEffectFree).toBe(false);
  });
});

describe("a command's timeout", () => {
  it("may not exceed the worker's limit: a tool error naming it, and nothing runs", async () => {
    const run = codingTools({ sandbox: 'off', commandTimeoutSeconds: 5 }).find((t) => t.name === 'run_command')!;
    const input = run.input.parse({ command: 'echo never', timeout_seconds: 10 });
    expect(await run.run(input, { workspace: '/nonexistent', idempotencyKey: 'k' })).toEqual({
      content: "timeout_seconds 10 is over this worker's limit of 5",
      isError: true,
    });
    expect(run.input.safeParse({ command: 'x', timeout_seconds: 241 }).success).toBe(false);
    expect(() => codingTools({ commandTimeoutSeconds: 300 })).toThrow('coding tools: commandTimeoutSeconds:');
  });
});

describe("a command's environment", () => {
  const worker = {
    PATH: '/usr/bin:/bin',
    HOME: '/home/worker',
    LANG: 'C.UTF-8',
    LC_ALL: 'C.UTF-8',
    LC_SECRET_THING: 'x',
    TERM: 'xterm',
    TZ: 'UTC',
    USER: 'worker',
    SHELL: '/bin/bash',
    TMPDIR: '/var/tmp',
    ANTHROPIC_API_KEY: 'sk-ant-secret',
    LONGHAUL_ENCRYPTION_KEYS: 'k1:c2VjcmV0',
    TEMPORAL_API_KEY: 'temporal-secret',
    LONGHAUL_STORE_URL: 'postgres://u:pw@db/longhaul',
    AWS_SECRET_ACCESS_KEY: 'aws',
    GITHUB_TOKEN: 'ghp',
    NODE_OPTIONS: '--require ./evil.js',
    LD_PRELOAD: '/tmp/evil.so',
  };

  it('keeps only the harmless variables, none named like a credential', () => {
    expect(commandEnv(worker)).toEqual({
      PATH: '/usr/bin:/bin',
      HOME: '/home/worker',
      LANG: 'C.UTF-8',
      LC_ALL: 'C.UTF-8',
      TERM: 'xterm',
      TZ: 'UTC',
      USER: 'worker',
      SHELL: '/bin/bash',
      TMPDIR: '/var/tmp',
    });
  });

  it("adds the operator's own variables", () => {
    expect(commandEnv({ PATH: '/bin', ANTHROPIC_API_KEY: 'x' }, { CI: '1', NPM_CONFIG_OFFLINE: 'true' })).toEqual({
      PATH: '/bin',
      CI: '1',
      NPM_CONFIG_OFFLINE: 'true',
    });
  });
});

describe("a command's output", () => {
  it('is kept whole under the cap', () => {
    const out = new CappedOutput(10, 10);
    out.push(Buffer.from('hello '));
    out.push(Buffer.from('world'));
    expect(out.text()).toBe('hello world');
  });

  it('keeps its head and tail over the cap, with a note of what was cut', () => {
    const out = new CappedOutput(5, 4);
    for (const chunk of ['start', '-middle-', 'more-', 'the end']) out.push(Buffer.from(chunk));
    expect(out.text()).toBe(
      'start\n[… 16 bytes of output cut here: 25 in all, the first 5 and the last 4 kept …]\n end',
    );
  });

  it('stays within the cap however much is pushed', () => {
    const out = new CappedOutput(100, 100);
    for (let i = 0; i < 10_000; i++) out.push(Buffer.from(`line ${i}\n`));
    const text = out.text();
    expect(text.startsWith('line 0\nline 1\n')).toBe(true);
    expect(text.endsWith('line 9999\n')).toBe(true);
    expect(text.length).toBeLessThan(400);
  });
});

describe('the sandbox', () => {
  it('binds only the workspace writable, with no network and its own pids', () => {
    const args = bwrapArgs('/srv/ws', '/srv/ws/src', 'npm test');
    expect(args.slice(0, 2)).toEqual(['--ro-bind', '/']);
    expect(args).toEqual(
      expect.arrayContaining(['--unshare-net', '--unshare-pid', '--die-with-parent', '--new-session']),
    );
    const bind = args.indexOf('--bind');
    expect(args.slice(bind, bind + 3)).toEqual(['--bind', '/srv/ws', '/srv/ws']);
    expect(bind).toBeGreaterThan(args.indexOf('--tmpfs'));
    expect(args.slice(-6)).toEqual(['--chdir', '/srv/ws/src', '--', '/bin/sh', '-c', 'npm test']);
    const git = bwrapArgs('/srv/ws', '/srv/ws', 'true', ['/srv/ws/.git']);
    expect(git.indexOf('--ro-bind', bind)).toBe(git.indexOf('/srv/ws/.git') - 1);
    expect(git.indexOf('/srv/ws/.git')).toBeGreaterThan(bind);
  });
});
