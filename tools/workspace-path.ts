/**
 * Files of a run's workspace, opened by file descriptor and checked at the moment of use (Linux).
 *
 * A path checked first and opened by name later can be redirected in between (a directory swapped
 * for a symlink), so nothing here opens a model-supplied path by name. Node has no openat, but on
 * Linux `/proc/self/fd/<dirfd>/<name>` is openat(dirfd, name): the lookup starts from the open
 * directory, whatever its path has become. Each component is opened from the one before and its
 * descriptor's real path (readlink of `/proc/self/fd/<fd>`) must be inside the workspace's: a
 * symlink that stays inside is followed, one that leads out is refused, and a later swap cannot
 * change what an open descriptor is.
 */
import { randomBytes } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import { lstat, mkdir, open, readlink, rename, unlink, type FileHandle } from 'node:fs/promises';
import { isAbsolute, normalize } from 'node:path';
import { isUnder } from '../common/workspace.js';
import { writeProtectedBy } from '../common/write-protected.js';
import type { ToolContext } from './define.js';

const { O_RDONLY, O_WRONLY, O_DIRECTORY, O_CREAT, O_EXCL, O_NOFOLLOW, O_NONBLOCK, O_NOCTTY } = constants;

/** A model-supplied path that cannot be used; the message names that path only, never the worker's own. */
export class WorkspacePathError extends Error {}
/** A path that would leave the workspace: absolute, `..`, NUL, or through a symlink that leads out. */
export class WorkspaceEscapeError extends WorkspacePathError {}

const q = JSON.stringify;
/** openat(fd, name) as a path; without a name, the open file itself (readlink gives its real path). */
const at = (fd: number, name?: string) => `/proc/self/fd/${fd}${name === undefined ? '' : `/${name}`}`;

interface Dir {
  handle: FileHandle;
  /** The components of its real path below the workspace root (none for the root). */
  rel: string[];
}

/** The components of a relative path, with absolute paths, `..` and NUL refused. */
function parts(requested: string): string[] {
  if (requested.includes('\0')) throw new WorkspaceEscapeError(`path ${q(requested)} contains a NUL byte`);
  if (isAbsolute(requested)) {
    throw new WorkspaceEscapeError(`path ${q(requested)} is absolute; use a path relative to the workspace`);
  }
  if (normalize(requested).split(/[\\/]/).includes('..')) {
    throw new WorkspaceEscapeError(`path ${q(requested)} leaves the workspace ('..' is not allowed)`);
  }
  return requested.split('/').filter((part) => part !== '' && part !== '.');
}

/** A file's directory components and name; the workspace itself (`.`, `./`) is never a file. */
function fileParts(requested: string): { dirs: string[]; name: string } {
  const all = parts(requested);
  const name = all.pop();
  if (name === undefined) {
    throw new WorkspacePathError(`path ${q(requested)} is the workspace itself; name a file inside it`);
  }
  if (requested.endsWith('/')) throw new WorkspacePathError(`path ${q(requested)} ends with '/'; name a file`);
  return { dirs: all, name };
}

const PHRASES: Record<string, string> = {
  ENOENT: 'does not exist',
  ENOTDIR: 'is not a directory, or has a part that is not',
  EISDIR: 'is a directory',
  EACCES: 'is not accessible to the worker (permission denied)',
  EPERM: 'is not accessible to the worker (operation not permitted)',
  ELOOP: 'has too many levels of symlinks',
  ENAMETOOLONG: 'is too long',
  ENOSPC: 'cannot be written: no space left on the device',
  EDQUOT: 'cannot be written: disk quota exceeded',
  EROFS: 'cannot be written: read-only file system',
};

/** A file system error as the model may see it: the path it named and what went wrong, not the worker's paths. */
async function confined<T>(requested: string, act: () => Promise<T>): Promise<T> {
  try {
    return await act();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (err instanceof WorkspacePathError || code === undefined) throw err;
    throw new WorkspacePathError(`${requested} ${PHRASES[code] ?? `cannot be used (${code})`}`);
  }
}

/** The real path of an open file or directory, as the kernel has it now. */
async function realPathOf(handle: FileHandle): Promise<string> {
  try {
    return await readlink(at(handle.fd));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    throw new Error(
      "the workspace tools need Linux's /proc/self/fd to open files by descriptor; it is not available here",
      { cause: err },
    );
  }
}

/** The components of `handle`'s real path below `root`; refused if it is not inside. */
async function insideRoot(root: string, handle: FileHandle, requested: string): Promise<string[]> {
  const real = await realPathOf(handle);
  if (!isUnder(root, real)) {
    throw new WorkspaceEscapeError(`path ${q(requested)} resolves outside the workspace through a symlink`);
  }
  if (real === root) return [];
  return real.slice(root.endsWith('/') ? root.length : root.length + 1).split('/');
}

async function openChecked(root: string, path: string, flags: number, requested: string): Promise<Dir> {
  const handle = await open(path, flags);
  try {
    return { handle, rel: await insideRoot(root, handle, requested) };
  } catch (err) {
    await handle.close();
    throw err;
  }
}

interface Walk {
  /** Create missing directories (mkdir never follows a symlink in the last component). */
  create?: boolean;
  /** Called with each directory's real components as it is reached; throws to refuse. */
  check?: (rel: string[]) => void;
}

/**
 * Runs `use` on the directory at `dirs`, reached one component at a time from an open descriptor
 * of the workspace, each checked to be inside it; every descriptor is closed on every path.
 */
async function withDir<T>(
  workspace: string,
  dirs: string[],
  requested: string,
  { create = false, check }: Walk,
  use: (dir: Dir, root: string) => Promise<T>,
): Promise<T> {
  const rootHandle = await open(workspace, O_RDONLY | O_DIRECTORY).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR') {
      throw new WorkspacePathError("the run's workspace directory does not exist");
    }
    // The code only: the message would name the worker's path.
    throw new WorkspacePathError(`the run's workspace directory cannot be opened (${err.code ?? 'unknown error'})`);
  });
  let dir: Dir = { handle: rootHandle, rel: [] };
  try {
    const root = await realPathOf(rootHandle);
    for (const name of dirs) {
      const path = at(dir.handle.fd, name);
      if (create) {
        await mkdir(path).catch((err: NodeJS.ErrnoException) => {
          if (err.code !== 'EEXIST') throw err;
        });
      }
      const parent = dir;
      dir = await openChecked(root, path, O_RDONLY | O_DIRECTORY, requested);
      await parent.handle.close();
      check?.(dir.rel);
    }
    return await use(dir, root);
  } finally {
    await dir.handle.close();
  }
}

/**
 * Runs `use` with a directory of the workspace (`.` for the workspace itself) as a path that
 * names the open descriptor (`/proc/self/fd/<fd>`): read it with `readdir(path)` inside `use`.
 */
export function withWorkspaceDir<T>(workspace: string, requested: string, use: (path: string) => Promise<T>) {
  return confined(requested, () =>
    withDir(workspace, parts(requested), requested, {}, (dir) => use(at(dir.handle.fd))),
  );
}

/**
 * Runs `use` with a regular file of the workspace open for reading, checked at the moment it was
 * opened: `withWorkspaceFile(workspace, path, (file) => file.readFile('utf8'))`.
 */
export function withWorkspaceFile<T>(
  workspace: string,
  requested: string,
  use: (file: FileHandle, info: Stats) => Promise<T>,
): Promise<T> {
  const { dirs, name } = fileParts(requested);
  return confined(requested, () =>
    withDir(workspace, dirs, requested, {}, async (dir, root) => {
      // Non-blocking, so that a FIFO cannot hold the call; it is refused below as not a regular file.
      const { handle } = await openChecked(root, at(dir.handle.fd, name), O_RDONLY | O_NONBLOCK | O_NOCTTY, requested);
      try {
        const info = await handle.stat();
        if (!info.isFile()) throw new WorkspacePathError(`${requested} is not a regular file`);
        return await use(handle, info);
      } finally {
        await handle.close();
      }
    }),
  );
}

/**
 * Creates or replaces a file of the workspace, with its missing parent directories. The content
 * goes to a new temporary file in the target's own directory, renamed over the target. A symlink
 * at the target is written through when it leads to a file inside the workspace, and refused when
 * it leads out or nowhere. Paths under a write-protected entry (`.git` always, plus
 * `ctx.writeProtected`) are refused, by the name the model gave and by the real path reached.
 */
export async function writeWorkspaceFile(
  ctx: Pick<ToolContext, 'workspace' | 'writeProtected'>,
  requested: string,
  content: string | Uint8Array,
): Promise<void> {
  const { dirs, name } = fileParts(requested);
  await confined(requested, () => writeAt(ctx, requested, dirs, name, content, 0));
}

/** Symlinks at a write's target followed before it is refused, as the kernel's own limit for a path. */
const MAX_TARGET_LINKS = 8;

async function writeAt(
  ctx: Pick<ToolContext, 'workspace' | 'writeProtected'>,
  requested: string,
  dirs: string[],
  name: string,
  content: string | Uint8Array,
  links: number,
): Promise<void> {
  const refuseProtected = (rel: string[]) => {
    const entry = writeProtectedBy(rel, ctx.writeProtected);
    if (entry !== undefined) {
      throw new WorkspacePathError(
        `path ${q(requested)} is write-protected (under ${q(entry)}); writes there are refused`,
      );
    }
  };
  refuseProtected([...dirs, name]);
  const linked = await withDir(
    ctx.workspace,
    dirs,
    requested,
    { create: true, check: refuseProtected },
    async (dir, root) => {
      refuseProtected([...dir.rel, name]);
      // A symlink at the target is written through if it stays inside: its real path is written
      // instead, below. This check is not what confines the write: the rename never follows a symlink,
      // so one swapped in after it is replaced, not followed.
      const info = await lstat(at(dir.handle.fd, name)).catch(() => undefined);
      if (info?.isSymbolicLink()) return linkTarget(root, dir, name, requested);
      await replaceFile(dir, name, content);
      return undefined;
    },
  );
  if (linked === undefined) return;
  const target = linked.pop();
  if (target === undefined) throw new WorkspacePathError(`${requested} is a directory`);
  if (links === MAX_TARGET_LINKS) throw new WorkspacePathError(`${requested} has too many levels of symlinks`);
  await writeAt(ctx, requested, linked, target, content, links + 1);
}

/** The real components, below the root, of what the symlink `name` of `dir` leads to; refused if outside or dangling. */
async function linkTarget(root: string, dir: Dir, name: string, requested: string): Promise<string[]> {
  const target = await openChecked(root, at(dir.handle.fd, name), O_RDONLY | O_NONBLOCK | O_NOCTTY, requested).catch(
    (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') throw new WorkspacePathError(`path ${q(requested)} is a dangling symlink`);
      throw err;
    },
  );
  await target.handle.close();
  return target.rel;
}

/**
 * Replaces `name` in `dir` with a new file: written to a temporary file in the same directory,
 * then renamed over it, so a reader never sees half a file. A file replaced keeps its permission
 * bits (an edited script stays executable), never its set-id bits.
 */
async function replaceFile(dir: Dir, name: string, content: string | Uint8Array): Promise<void> {
  // Cut so that the temporary name stays within NAME_MAX (255 bytes) for any target name.
  const tmp = `.${name.slice(0, 64)}.${randomBytes(8).toString('hex')}.tmp`;
  const replaced = await lstat(at(dir.handle.fd, name)).catch(() => undefined);
  const file = await open(at(dir.handle.fd, tmp), O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW, 0o666);
  try {
    try {
      if (replaced?.isFile()) await file.chmod(replaced.mode & 0o777);
      await file.writeFile(content);
    } finally {
      await file.close();
    }
    await rename(at(dir.handle.fd, tmp), at(dir.handle.fd, name));
  } catch (err) {
    await unlink(at(dir.handle.fd, tmp)).catch(() => undefined);
    throw err;
  }
}
