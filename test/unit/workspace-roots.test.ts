import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../common/errors.js';
import { parseRunOptions } from '../../common/options.js';
import { workspaceNameProblem } from '../../common/workspace.js';
import { checkWorkspaceRoots, resolveWorkspace, WorkspaceRefusedError } from '../../tools/workspace-roots.js';

describe("a workspace's name, checked from its text (submission, and the workflow's own parse)", () => {
  it('refuses NUL, `..`, `/` and the system directories; relative names and other absolute paths pass', () => {
    const refused: [string, string][] = [
      ['/proc/self', 'is under /proc'],
      ['//proc//self/', 'is under /proc'],
      ['/proc', 'is under /proc'],
      ['/sys/kernel', 'is under /sys'],
      ['/dev/shm', 'is under /dev'],
      ['/', 'is the root directory'],
      ['/./', 'is the root directory'],
      ['..', "has a '..' segment"],
      ['a/../../b', "has a '..' segment"],
      ['/tmp/../proc', "has a '..' segment"],
      ['ws\0', 'contains a NUL byte'],
    ];
    for (const [name, why] of refused) expect(workspaceNameProblem(name), name).toBe(why);
    for (const name of ['ws', 'proc/self', '.', '/tmp/ws', '/procfs', '/home/me/repo', 'a..b'])
      expect(workspaceNameProblem(name), name).toBeUndefined();
  });

  it('the run options schema refuses them on one line naming the workspace', () => {
    const parsed = parseRunOptions({ task: 't', workspace: '/proc/self' });
    expect(parsed).toEqual({ ok: false, error: 'workspace: "/proc/self" is under /proc' });
    expect(parseRunOptions({ task: 't', workspace: 'repo' }).ok).toBe(true);
  });
});

describe('workspace roots and resolving a workspace under them', () => {
  let base: string;
  let root: string;
  let second: string;
  let outside: string;
  beforeAll(async () => {
    base = await realpath(await mkdtemp(join(tmpdir(), 'longhaul-roots-')));
    [root, second, outside] = [join(base, 'root'), join(base, 'second'), join(base, 'outside')];
    for (const d of [join(root, 'ws'), join(second, 'ws'), join(second, 'only-second'), outside, join(root, 'home')])
      await mkdir(d, { recursive: true });
    await writeFile(join(root, 'file.txt'), 'x');
    await symlink(outside, join(root, 'to-outside'));
    await symlink('/proc/self', join(root, 'to-proc'));
    await symlink(join(root, 'ws'), join(root, 'to-ws'));
    await symlink(root, join(base, 'root-link'));
  });
  afterAll(() => rm(base, { recursive: true, force: true }));

  it('a root that is /, a system directory, the home directory or holds it is a ConfigError at start', () => {
    const home = join(root, 'home');
    const refused = (roots: string[]) => {
      try {
        checkWorkspaceRoots(roots, home);
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return (err as Error).message;
      }
      throw new Error(`${roots.join(',')} was accepted`);
    };
    expect(refused(['/'])).toBe('workspace root "/" is the root directory');
    expect(refused(['/proc'])).toBe('workspace root "/proc" is under /proc');
    expect(refused(['/sys/kernel'])).toBe('workspace root "/sys/kernel" is under /sys');
    expect(refused([home])).toBe(`workspace root ${JSON.stringify(home)} is the worker user's home directory`);
    expect(refused([outside, root])).toBe(
      `workspace root ${JSON.stringify(root)} contains the worker user's home directory`,
    );
    expect(refused(['relative'])).toBe('workspace root "relative" is not an absolute path');
    expect(refused([join(base, 'missing')])).toMatch(/ cannot be used: ENOENT$/);
    expect(refused([join(root, 'file.txt')])).toMatch(/ is not a directory$/);
    expect(refused([])).toMatch(/none given/);
    // A symlinked root is its real path.
    expect(checkWorkspaceRoots([join(base, 'root-link'), second], null)).toEqual([root, second]);
  });

  it('a relative workspace is looked up in each root in order; an absolute one must be inside a root', async () => {
    const roots = [root, second];
    expect(await resolveWorkspace(roots, 'ws')).toBe(join(root, 'ws'));
    expect(await resolveWorkspace(roots, 'only-second')).toBe(join(second, 'only-second'));
    expect(await resolveWorkspace(roots, join(second, 'ws'))).toBe(join(second, 'ws'));
    expect(await resolveWorkspace(roots, '.')).toBe(root);
    // A symlink that stays inside a root resolves to its target.
    expect(await resolveWorkspace(roots, 'to-ws')).toBe(join(root, 'ws'));
  });

  it('refuses, naming the workspace and why but neither the roots nor where a symlink leads', async () => {
    const roots = [root];
    const why = (workspace: string, home: string | null = null) =>
      resolveWorkspace(roots, workspace, home).then(
        () => 'accepted',
        (err: Error) => {
          expect(err).toBeInstanceOf(WorkspaceRefusedError);
          expect(err.message).not.toContain(base);
          return err.message;
        },
      );
    expect(await why('to-outside')).toBe(
      `workspace "to-outside" is outside this worker's workspace roots (LONGHAUL_WORKSPACE_ROOTS), after following symlinks`,
    );
    expect(await why('to-proc')).toBe('workspace "to-proc" leads to a directory that is under /proc');
    expect(await why('/proc/self')).toBe('workspace "/proc/self" is under /proc');
    expect(await why('/')).toBe('workspace "/" is the root directory');
    expect(await why('..')).toBe(`workspace ".." has a '..' segment`);
    expect(await why('/etc')).toMatch(/^workspace "\/etc" is outside this worker's workspace roots/);
    expect(await why('file.txt')).toBe('workspace "file.txt" is not a directory');
    expect(await why('nope')).toBe('workspace "nope" does not exist under any workspace root');
    expect(await why('home', join(root, 'home'))).toBe(
      `workspace "home" leads to a directory that is the worker user's home directory`,
    );
    expect(await why('.', join(root, 'home'))).toBe(
      `workspace "." leads to a directory that contains the worker user's home directory`,
    );
  });
});
