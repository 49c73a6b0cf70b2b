import { z } from 'zod';

/**
 * Always write-protected, whatever is configured: a `core.fsmonitor` line or a hook under `.git`
 * runs a command for whoever next uses the repository, so a write there is code execution.
 */
export const ALWAYS_WRITE_PROTECTED = '.git';

const components = (path: string) => path.split('/').filter((part) => part !== '' && part !== '.');

/**
 * One write-protected entry: a name without `/` matches any path component of that name
 * (`.git` protects `sub/.git/hooks/x` too); one with `/` is a path prefix relative to the
 * workspace (`config/secrets` protects `config/secrets/x`, not `a/config/secrets`).
 */
export const WriteProtectedEntry = z
  .string()
  .trim()
  .refine((entry) => !entry.includes('\0'), 'must not contain a NUL byte')
  .refine((entry) => !entry.startsWith('/'), 'must be relative to the workspace')
  .refine((entry) => !components(entry).includes('..'), "must not contain '..'")
  .refine((entry) => components(entry).length > 0, 'must name a path');

/**
 * The entry that protects the path with these components (relative to the workspace), if any.
 * Compared case-insensitively, as a case-insensitive file system would resolve them: `.GIT/config`
 * is `.git/config` there.
 */
export function writeProtectedBy(parts: readonly string[], entries: readonly string[] = []): string | undefined {
  const lower = parts.map((part) => part.toLowerCase());
  return [ALWAYS_WRITE_PROTECTED, ...entries].find((entry) => {
    const wanted = components(entry.toLowerCase());
    if (!entry.includes('/')) return lower.includes(wanted[0]!);
    return wanted.length <= lower.length && wanted.every((part, i) => lower[i] === part);
  });
}
