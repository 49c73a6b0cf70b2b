/**
 * Workspace roots: the directories a worker lets runs work in. A run's `workspace` is a path
 * relative to a root (looked up in each root in order) or an absolute path inside one; it is
 * resolved to its real path (symlinks followed) and that must lie inside a root's real path.
 * Checked when a run is admitted and again at every tool call, since a symlink can change between.
 */
import { realpathSync, statSync } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { ConfigError } from '../common/errors.js';
import { isUnder, systemPathProblem, workspaceNameProblem } from '../common/workspace.js';

/** A workspace a run may not use; the message is one line naming the workspace and why. */
export class WorkspaceRefusedError extends Error {}

/**
 * The worker user's home directory, real: no root or workspace may be it or hold it (its keys,
 * shell history and credentials). Null when home is `/`, as for some service users: `/` is refused anyway.
 */
function homeDirectory(): string | null {
  const home = homedir();
  let real: string;
  try {
    real = realpathSync(home);
  } catch {
    real = home;
  }
  return real === '/' ? null : real;
}

/** Why a real path holds the home directory, or undefined. */
const homeProblem = (real: string, home: string | null) =>
  home !== null && isUnder(real, home)
    ? real === home
      ? "is the worker user's home directory"
      : "contains the worker user's home directory"
    : undefined;

/**
 * The roots' real paths, checked once at the worker's start: each must be an existing directory,
 * not `/`, not under /proc, /sys or /dev, and neither be nor contain the home directory. A bad
 * root is a ConfigError naming it.
 */
export function checkWorkspaceRoots(roots: readonly string[], home = homeDirectory()): string[] {
  if (!roots.length) throw new ConfigError('workspace roots: none given; name at least one directory');
  return roots.map((root) => {
    const refuse = (why: string) => new ConfigError(`workspace root ${JSON.stringify(root)} ${why}`);
    if (root.includes('\0')) throw refuse('contains a NUL byte');
    if (!isAbsolute(root)) throw refuse('is not an absolute path');
    let real: string;
    try {
      real = realpathSync(root);
    } catch (err) {
      throw refuse(`cannot be used: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    const problem = systemPathProblem(real) ?? homeProblem(real, home);
    if (problem) throw refuse(real === root ? problem : `(${real}) ${problem}`);
    if (!statSync(real).isDirectory()) throw refuse('is not a directory');
    return real;
  });
}

/** The real path of `path`, or undefined if nothing is there. */
async function realOrMissing(path: string): Promise<string | undefined> {
  try {
    return await realpath(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR')
      return undefined;
    throw err;
  }
}

/**
 * The real path of the directory `workspace` names under `roots`, or a WorkspaceRefusedError: a
 * NUL byte or `..`, `/` or a system directory, a path (after symlinks) outside every root, the
 * home directory, a missing path or one that is not a directory. The message never lists the
 * roots or where a symlink leads.
 */
export async function resolveWorkspace(
  roots: readonly string[],
  workspace: string,
  home = homeDirectory(),
): Promise<string> {
  const refuse = (why: string) => new WorkspaceRefusedError(`workspace ${JSON.stringify(workspace)} ${why}`);
  const nameProblem = workspaceNameProblem(workspace);
  if (nameProblem) throw refuse(nameProblem);
  const realRoots = (await Promise.all(roots.map(realOrMissing))).filter((r) => r !== undefined);
  let real: string | undefined;
  if (isAbsolute(workspace)) real = await realOrMissing(workspace);
  else {
    // The first root that has it: a later root's directory of the same name is not reached.
    for (const root of realRoots) {
      real = await realOrMissing(join(root, workspace));
      if (real !== undefined) break;
    }
  }
  if (real === undefined) throw refuse(`does not exist${isAbsolute(workspace) ? '' : ' under any workspace root'}`);
  const problem = systemPathProblem(real) ?? homeProblem(real, home);
  if (problem) throw refuse(`leads to a directory that ${problem}`);
  if (!realRoots.some((root) => isUnder(root, real))) {
    throw refuse("is outside this worker's workspace roots (LONGHAUL_WORKSPACE_ROOTS), after following symlinks");
  }
  if (!(await stat(real)).isDirectory()) throw refuse('is not a directory');
  return real;
}
