import { lstat, realpath } from 'node:fs/promises';
import { dirname, isAbsolute, join, normalize, relative, sep } from 'node:path';

export class WorkspaceEscapeError extends Error {}

const inside = (root: string, path: string) => {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
};

/** The real path of `path`, or of its nearest existing ancestor joined with the rest. */
async function realpathOfExisting(path: string): Promise<string> {
  try {
    return await realpath(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    const parent = dirname(path);
    if (parent === path) return path;
    return join(await realpathOfExisting(parent), path.slice(parent.length + (parent.endsWith(sep) ? 0 : 1)));
  }
}

/**
 * Resolves a model-supplied path inside the workspace. Absolute paths, `..` segments and symlinks
 * that lead outside are refused: the model only ever names files relative to its workspace.
 */
export async function resolveInWorkspace(workspace: string, requested: string): Promise<string> {
  if (requested.includes('\0')) throw new WorkspaceEscapeError(`path ${JSON.stringify(requested)} contains a NUL byte`);
  if (isAbsolute(requested)) {
    throw new WorkspaceEscapeError(
      `path ${JSON.stringify(requested)} is absolute; use a path relative to the workspace`,
    );
  }
  if (normalize(requested).split(/[\\/]/).includes('..')) {
    throw new WorkspaceEscapeError(`path ${JSON.stringify(requested)} leaves the workspace ('..' is not allowed)`);
  }
  const root = await realpath(workspace);
  const target = join(root, requested);
  const real = await realpathOfExisting(target);
  if (!inside(root, real)) {
    throw new WorkspaceEscapeError(
      `path ${JSON.stringify(requested)} resolves outside the workspace through a symlink`,
    );
  }
  // A dangling symlink at the target could be created later to point anywhere: refuse it too.
  const stat = await lstat(target).catch(() => undefined);
  if (stat?.isSymbolicLink() && real === target) {
    throw new WorkspaceEscapeError(`path ${JSON.stringify(requested)} is a dangling symlink`);
  }
  return real;
}
