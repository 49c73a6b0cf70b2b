/**
 * The search engine without ripgrep: a walk of the directory by descriptors, each entry opened
 * from its parent with O_NOFOLLOW, so a symlink is never followed (as ripgrep without -L) and a
 * directory swapped for one mid-walk is not entered.
 */
import { constants } from 'node:fs';
import { open, readdir } from 'node:fs/promises';
import picomatch from 'picomatch';
import {
  MAX_SEARCH_FILE_BYTES,
  SEARCH_TIMEOUT_MS,
  SearchPatternError,
  SKIPPED_DIRS,
  type GrepQuery,
  type Match,
  type SearchEngine,
} from './search-types.js';

const { O_RDONLY, O_DIRECTORY, O_NOFOLLOW, O_NONBLOCK, O_NOCTTY } = constants;
const skipped = new Set<string>(SKIPPED_DIRS);
const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * A glob as ripgrep's `-g` reads it: gitignore style, so a glob without `/` matches a file's name
 * at any depth and one with `/` the path from the directory searched; dotfiles included.
 */
export function globMatcher(glob: string): (path: string) => boolean {
  try {
    return picomatch(glob, { dot: true, basename: !glob.includes('/') });
  } catch (err) {
    throw new SearchPatternError(`glob ${JSON.stringify(glob)} is not valid: ${(err as Error).message}`);
  }
}

/**
 * Calls `visit` with each regular file under `dir`, depth first in name order (ripgrep's
 * --sort path), until it returns false or the deadline passes; true if it was stopped.
 */
async function walk(
  dir: string,
  prefix: string,
  deadline: number,
  visit: (rel: string, path: string) => Promise<boolean>,
): Promise<boolean> {
  const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => byName(a.name, b.name));
  for (const entry of entries) {
    if (Date.now() > deadline) return true;
    const rel = prefix + entry.name;
    if (entry.isDirectory()) {
      if (skipped.has(entry.name)) continue;
      // Opened from the parent's descriptor without following a symlink: what is walked stays inside.
      const sub = await open(`${dir}/${entry.name}`, O_RDONLY | O_DIRECTORY | O_NOFOLLOW).catch(() => undefined);
      if (!sub) continue;
      try {
        if (await walk(`/proc/self/fd/${sub.fd}`, `${rel}/`, deadline, visit)) return true;
      } finally {
        await sub.close();
      }
    } else if (entry.isFile()) {
      if (!(await visit(rel, `${dir}/${entry.name}`))) return true;
    }
  }
  return false;
}

/** A file's bytes, opened without following a symlink; undefined when it is not a small regular file. */
async function readSmallFile(path: string): Promise<Buffer | undefined> {
  const file = await open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY).catch(() => undefined);
  if (!file) return undefined;
  try {
    const info = await file.stat();
    if (!info.isFile() || info.size > MAX_SEARCH_FILE_BYTES) return undefined;
    return await file.readFile();
  } finally {
    await file.close();
  }
}

function regexOf({ pattern, ignoreCase }: GrepQuery): RegExp {
  try {
    return new RegExp(pattern, ignoreCase ? 'i' : '');
  } catch (err) {
    throw new SearchPatternError(
      `pattern ${JSON.stringify(pattern)} is not a valid regular expression: ${(err as Error).message}`,
    );
  }
}

/** The matching lines of a file's content; none for a binary file (a NUL byte), as ripgrep skips it. */
function matchLines(content: Buffer, path: string, regex: RegExp, room: number): Match[] {
  if (content.includes(0)) return [];
  const found: Match[] = [];
  const lines = content.toString('utf8').split('\n');
  if (lines.at(-1) === '') lines.pop();
  for (let i = 0; i < lines.length && found.length < room; i++) {
    const text = lines[i]!.replace(/\r$/, '');
    if (regex.test(text)) found.push({ path, line: i + 1, text });
  }
  return found;
}

export const javascriptEngine: SearchEngine = {
  async files(dir, glob, limit) {
    const matches = globMatcher(glob);
    const items: string[] = [];
    let more = false;
    const timedOut = await walk(dir, '', Date.now() + SEARCH_TIMEOUT_MS, async (rel) => {
      if (!matches(rel)) return true;
      if (items.length === limit) {
        more = true;
        return false;
      }
      items.push(rel);
      return true;
    });
    return { items, more, ...(timedOut && !more ? { timedOut } : {}) };
  },

  async grepTree(dir, query, limit) {
    const regex = regexOf(query);
    const inGlob = query.glob === undefined ? () => true : globMatcher(query.glob);
    const items: Match[] = [];
    let more = false;
    const timedOut = await walk(dir, '', Date.now() + SEARCH_TIMEOUT_MS, async (rel, path) => {
      if (!inGlob(rel)) return true;
      const content = await readSmallFile(path);
      if (!content) return true;
      // One more than there is room for tells whether there were more.
      const found = matchLines(content, rel, regex, limit - items.length + 1);
      items.push(...found);
      if (items.length <= limit) return true;
      items.length = limit;
      more = true;
      return false;
    });
    return { items, more, ...(timedOut && !more ? { timedOut } : {}) };
  },

  async grepText(content, query, limit) {
    const items = matchLines(content, '', regexOf(query), limit + 1);
    const more = items.length > limit;
    return { items: items.slice(0, limit), more };
  },
};
