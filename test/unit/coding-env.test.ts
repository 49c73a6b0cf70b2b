import { describe, expect, it } from 'vitest';
import { readEnv } from '../../config/env.js';
import { toolsFromEnv } from '../../worker/from-env.js';

describe('the coding toolset from the environment (longhaul worker)', () => {
  const names = (env: Record<string, string>) => toolsFromEnv(readEnv(env))?.map((t) => t.name);

  it('serves the toolsets LONGHAUL_TOOLS names; unset, the built-in default', () => {
    expect(names({})).toBeUndefined();
    expect(names({ LONGHAUL_TOOLS: 'workspace' })).toEqual(['list_files', 'read_file', 'write_file']);
    expect(names({ LONGHAUL_TOOLS: 'workspace, coding' })).toEqual([
      'list_files',
      'read_file',
      'write_file',
      'edit_file',
      'glob',
      'grep',
      'run_command',
    ]);
  });

  it('gives run_command the allow-list of LONGHAUL_COMMAND_ALLOW and the sandbox of LONGHAUL_SANDBOX', async () => {
    const config = readEnv({
      LONGHAUL_TOOLS: 'coding',
      LONGHAUL_COMMAND_ALLOW: 'npm test, git diff',
      LONGHAUL_SANDBOX: 'off',
    });
    const run = toolsFromEnv(config)!.find((t) => t.name === 'run_command')!;
    const ctx = { workspace: '/srv/ws' };
    expect(await run.needsApproval!({ command: 'git diff --stat' }, ctx)).toBe(false);
    expect(await run.needsApproval!({ command: 'git push' }, ctx)).toBe(true);
    expect(await run.approvalDetail!({ command: 'git push' }, ctx)).toBe(
      "$ git push\nin /srv/ws\ntimeout 120 s; not sandboxed: runs as the worker's user, with its file system and network",
    );
  });

  it.each([
    [
      { LONGHAUL_TOOLS: 'workspace,shell' },
      'LONGHAUL_TOOLS="workspace,shell": Invalid option: expected one of "workspace"|"coding"',
    ],
    [{ LONGHAUL_TOOLS: ' , ' }, 'LONGHAUL_TOOLS=" , ": names no toolset'],
    [
      { LONGHAUL_COMMAND_ALLOW: 'npm test,make && make install' },
      'LONGHAUL_COMMAND_ALLOW="npm test,make && make install": "make && make install" holds a shell metacharacter (; & | ` $( > < or a newline)',
    ],
    [{ LONGHAUL_SANDBOX: 'docker' }, 'LONGHAUL_SANDBOX="docker": Invalid option: expected one of "auto"|"bwrap"|"off"'],
  ])('refuses a bad setting on one line naming it: %j', (env, message) => {
    expect(() => readEnv(env)).toThrow(message);
  });
});
