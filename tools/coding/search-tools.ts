import { posix } from 'node:path';
import { z } from 'zod';
import { defineTool, type ToolOutput } from '../define.js';
import { withWorkspaceDir, withWorkspaceFile, WorkspacePathError } from '../workspace-path.js';
import { javascriptEngine } from './search-javascript.js';
import { ripgrepAvailable, ripgrepEngine } from './search-ripgrep.js';
import {
  MAX_SEARCH_FILE_BYTES,
  SEARCH_TIMEOUT_MS,
  SearchPatternError,
  SKIPPED_DIRS,
  type Found,
  type SearchEngine,
} from './search-types.js';

export type SearchEngineChoice = 'auto' | 'ripgrep' | 'javascript';

/** At most this many paths from one glob, and matches from one grep. */
export const MAX_GLOB_FILES = 1_000;
export const MAX_GREP_MATCHES = 1_000;
export const DEFAULT_GREP_MATCHES = 100;
/** A matching line is shown up to this many characters. */
export const MAX_LINE_CHARS = 300;
/** What one glob or grep returns at most; the model narrows the search for more. */
export const MAX_SEARCH_OUTPUT_CHARS = 30_000;

async function engineOf(choice: SearchEngineChoice): Promise<SearchEngine> {
  if (choice === 'javascript') return javascriptEngine;
  if (choice === 'ripgrep' || (await ripgrepAvailable())) return ripgrepEngine;
  return javascriptEngine;
}

/** The workspace-relative prefix of paths found under `requested` (already checked to be inside). */
const prefixOf = (requested: string) => {
  const normal = posix.normalize(requested).replace(/\/+$/, '');
  return normal === '.' || normal === '' ? '' : `${normal}/`;
};

/** Lines joined up to MAX_SEARCH_OUTPUT_CHARS, then the notes of what is not shown. */
function listing(lines: string[], found: Found<unknown>, what: string, limit: number): string {
  let out = '';
  let shown = 0;
  for (const line of lines) {
    if (out.length + line.length + 1 > MAX_SEARCH_OUTPUT_CHARS) break;
    out += `${line}\n`;
    shown++;
  }
  const notes: string[] = [];
  if (shown < lines.length)
    notes.push(
      `[${lines.length - shown} more ${what} not shown: the output limit is ${MAX_SEARCH_OUTPUT_CHARS} characters]`,
    );
  if (found.more) notes.push(`[stopped at ${limit} ${what}: there are more; narrow the pattern or the path]`);
  if (found.timedOut) notes.push(`[the search stopped after ${SEARCH_TIMEOUT_MS / 1000} s; narrow the path]`);
  return out + notes.join('\n');
}

const searchError = (err: unknown): ToolOutput => {
  if (err instanceof SearchPatternError) return { content: err.message, isError: true };
  throw err;
};

const skippedNote = `${SKIPPED_DIRS.join(' and ')} directories are skipped; symlinks are not followed`;

export function globTool(choice: SearchEngineChoice) {
  return defineTool({
    name: 'glob',
    description:
      `Find files in the workspace by a glob pattern (\`**/*.ts\`, \`src/**/test_*.py\`; a pattern without / matches ` +
      `file names at any depth), relative to \`path\`. Paths are listed in order, at most ${MAX_GLOB_FILES}; ${skippedNote}.`,
    input: z
      .object({
        pattern: z.string().min(1).max(1_000).describe('glob pattern'),
        path: z.string().min(1).default('.').describe('directory to search, relative to the workspace'),
      })
      .strict(),
    sideEffectFree: true,
    async run({ pattern, path }, { workspace }) {
      const engine = await engineOf(choice);
      const found = await withWorkspaceDir(workspace, path, (dir) => engine.files(dir, pattern, MAX_GLOB_FILES)).catch(
        searchError,
      );
      if ('content' in found) return found;
      if (!found.items.length && !found.timedOut) return { content: `no files match ${pattern} under ${path}` };
      const prefix = prefixOf(path);
      return {
        content: listing(
          found.items.map((p) => prefix + p),
          found,
          'files',
          MAX_GLOB_FILES,
        ),
      };
    },
  });
}

export function grepTool(choice: SearchEngineChoice) {
  return defineTool({
    name: 'grep',
    description:
      "Search the contents of the workspace's files for a regular expression; lists `path:line:text` of each " +
      `matching line. \`path\` is a directory or a file; \`glob\` keeps only files matching it (\`*.ts\`). Files over ` +
      `${MAX_SEARCH_FILE_BYTES / 1024 / 1024} MiB and binary files are skipped; ${skippedNote}.`,
    input: z
      .object({
        pattern: z.string().min(1).max(1_000).describe('regular expression'),
        path: z.string().min(1).default('.').describe('directory or file to search, relative to the workspace'),
        glob: z.string().min(1).max(1_000).optional().describe('only files matching this glob'),
        ignore_case: z.boolean().default(false),
        max_matches: z.number().int().min(1).max(MAX_GREP_MATCHES).default(DEFAULT_GREP_MATCHES),
      })
      .strict(),
    sideEffectFree: true,
    async run({ pattern, path, glob, ignore_case: ignoreCase, max_matches: limit }, { workspace }) {
      const engine = await engineOf(choice);
      const query = { pattern, ignoreCase, ...(glob === undefined ? {} : { glob }) };
      let found: Found<{ path: string; line: number; text: string }>;
      let prefix: string;
      try {
        try {
          found = await withWorkspaceDir(workspace, path, (dir) => engine.grepTree(dir, query, limit));
          prefix = prefixOf(path);
        } catch (err) {
          if (!(err instanceof WorkspacePathError)) throw err;
          // Not a directory: a file, read by descriptor and searched on the engine's stdin. Its error
          // is the one to show (a symlink to a file outside says so, where the directory's says "not a directory").
          const content = await withWorkspaceFile(workspace, path, async (file, info) =>
            info.size > MAX_SEARCH_FILE_BYTES ? undefined : file.readFile(),
          );
          if (content === undefined)
            return { content: `${path} is over the ${MAX_SEARCH_FILE_BYTES}-byte search limit`, isError: true };
          found = content.includes(0) ? { items: [], more: false } : await engine.grepText(content, query, limit);
          prefix = posix.normalize(path);
        }
      } catch (err) {
        return searchError(err);
      }
      if (!found.items.length && !found.timedOut) return { content: `no matches for ${pattern} under ${path}` };
      const lines = found.items.map(({ path: p, line, text }) => {
        const shown = text.length > MAX_LINE_CHARS ? `${text.slice(0, MAX_LINE_CHARS)}…` : text;
        return `${prefix + p}:${line}:${shown}`;
      });
      return { content: listing(lines, found, 'matches', limit) };
    },
  });
}
