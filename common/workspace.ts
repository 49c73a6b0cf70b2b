/**
 * What a run's `workspace` may name, from its text alone: pure, so that the run options' schema
 * (at submission and in the workflow) refuses the plainly wrong before any worker looks. Where the
 * name leads on disk (symlinks, the roots, the home directory) is the worker's check,
 * tools/workspace-roots.ts.
 */

/** The kernel's views of processes, devices and the system: no workspace may be or lie under them. */
export const SYSTEM_DIRS = ['/proc', '/sys', '/dev'] as const;

/** Whether `path` is `dir` or lies under it; both absolute and normalized. */
export const isUnder = (dir: string, path: string): boolean =>
  path === dir || path.startsWith(dir.endsWith('/') ? dir : `${dir}/`);

/** An absolute path without empty and `.` segments (`..` is refused before this is asked). */
const normalizedAbsolute = (path: string) =>
  `/${path
    .split('/')
    .filter((s) => s !== '' && s !== '.')
    .join('/')}`;

/** Why an absolute, normalized path cannot be a workspace or a root: `/` or a system directory. */
export function systemPathProblem(path: string): string | undefined {
  if (path === '/') return 'is the root directory';
  const dir = SYSTEM_DIRS.find((d) => isUnder(d, path));
  return dir ? `is under ${dir}` : undefined;
}

/**
 * Why `workspace` cannot name a workspace, or undefined when it may: a NUL byte, a `..` segment,
 * `/`, or a path under /proc, /sys or /dev. A relative name is looked up under the worker's roots.
 */
export function workspaceNameProblem(workspace: string): string | undefined {
  if (workspace.includes('\0')) return 'contains a NUL byte';
  if (workspace.split(/[\\/]/).includes('..')) return "has a '..' segment";
  return workspace.startsWith('/') ? systemPathProblem(normalizedAbsolute(workspace)) : undefined;
}
