/**
 * run_command's sandbox: bubblewrap (Debian's `bubblewrap`), which needs no daemon and, where
 * unprivileged user namespaces are allowed, no privileges. Inside, the whole file system is
 * read-only but for the workspace and a private /tmp; there is no network (a new network
 * namespace has only its own loopback) and no other process to see or signal.
 */
import { spawn } from 'node:child_process';
import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { ALWAYS_WRITE_PROTECTED } from '../../common/write-protected.js';

export type SandboxChoice = 'auto' | 'bwrap' | 'off';

/**
 * The sandbox's mounts and namespaces. --die-with-parent: killing bwrap (at a timeout, or with the
 * worker) ends the command, whose pid namespace dies with its first process; --new-session: the
 * command cannot reach a terminal of the worker's (TIOCSTI).
 */
// prettier-ignore
const ISOLATION = [
  '--ro-bind', '/', '/',
  '--dev', '/dev',
  '--proc', '/proc',
  '--tmpfs', '/tmp',
  '--unshare-net',
  '--unshare-pid',
  '--die-with-parent',
  '--new-session',
];

/**
 * bwrap's arguments to run `command` with `/bin/sh -c` in `cwd`, with only `workspace` writable
 * but for `readOnly` (paths inside it, mounted read-only over the workspace's bind).
 */
export function bwrapArgs(workspace: string, cwd: string, command: string, readOnly: readonly string[] = []): string[] {
  return [
    ...ISOLATION,
    // After --tmpfs /tmp, so a workspace under /tmp is mounted over the private one.
    '--bind',
    workspace,
    workspace,
    ...readOnly.flatMap((path) => ['--ro-bind', path, path]),
    '--chdir',
    cwd,
    '--',
    '/bin/sh',
    '-c',
    command,
  ];
}

/**
 * What of the workspace stays read-only inside the sandbox: its `.git` (a directory, or a
 * worktree's `.git` file), where a hook or a `core.fsmonitor` line would run a command for whoever
 * next uses the repository, as the file tools refuse to write there (common/write-protected.ts).
 * A symlink is left alone: bwrap would mount what it leads to.
 */
export async function sandboxReadOnly(workspace: string): Promise<string[]> {
  const git = join(workspace, ALWAYS_WRITE_PROTECTED);
  const info = await lstat(git).catch(() => undefined);
  return info && (info.isDirectory() || info.isFile()) ? [git] : [];
}

let checked: Promise<string | undefined> | undefined;

/** Why bwrap cannot run here (not installed, user namespaces refused), or undefined; asked once. */
export function bwrapProblem(): Promise<string | undefined> {
  checked ??= new Promise((resolve) => {
    const child = spawn('bwrap', [...ISOLATION, '--', '/bin/sh', '-c', 'exit 0'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', (err: NodeJS.ErrnoException) =>
      resolve(err.code === 'ENOENT' ? 'bwrap is not installed' : `bwrap cannot start (${err.code ?? err.message})`),
    );
    child.on('close', (code) =>
      resolve(code === 0 ? undefined : `bwrap fails here: ${stderr.trim().split('\n')[0] || `exit code ${code}`}`),
    );
  });
  return checked;
}

/** Whether commands run sandboxed under `choice`, or why they cannot run at all ('bwrap' where it does not run). */
export async function sandboxed(choice: SandboxChoice): Promise<{ on: boolean } | { error: string }> {
  if (choice === 'off') return { on: false };
  const problem = await bwrapProblem();
  if (problem === undefined) return { on: true };
  return choice === 'auto' ? { on: false } : { error: `the sandbox this worker requires cannot run: ${problem}` };
}
