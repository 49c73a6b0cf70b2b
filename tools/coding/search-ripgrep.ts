/**
 * The search engine with ripgrep (Debian's `ripgrep`): spawned with an argument array, never a
 * shell, in the directory searched (its open descriptor, /proc/self/fd/N, is the child's cwd, so
 * the directory checked is the one searched), with the same rules as the JavaScript walk: no
 * ignore files, hidden files included, symlinks not followed, SKIPPED_DIRS left out.
 */
import { execFile, spawn } from 'node:child_process';
import {
  MAX_SEARCH_FILE_BYTES,
  SEARCH_TIMEOUT_MS,
  SearchPatternError,
  SKIPPED_DIRS,
  type Found,
  type GrepQuery,
  type Match,
  type SearchEngine,
} from './search-types.js';

let available: Promise<boolean> | undefined;
/** Whether `rg` runs here, asked once. */
export function ripgrepAvailable(): Promise<boolean> {
  available ??= new Promise((resolve) => execFile('rg', ['--version'], (err) => resolve(!err)));
  return available;
}

/** Options every search shares; the skipped directories come last so that they win over the model's glob. */
const common = (glob: string | undefined) => [
  '--no-config',
  '--no-ignore',
  '--hidden',
  '--sort',
  'path',
  ...(glob === undefined ? [] : ['--glob', glob]),
  ...SKIPPED_DIRS.flatMap((d) => ['--glob', `!${d}`]),
];

const relative = (path: string) => (path.startsWith('./') ? path.slice(2) : path);

/** A `{ text }` or `{ bytes }` (base64, for data that is not UTF-8) of ripgrep's JSON output, as text. */
const textOf = (data: RipgrepData | undefined) =>
  data?.text ?? (data?.bytes === undefined ? '' : Buffer.from(data.bytes, 'base64').toString('utf8'));

/**
 * Runs rg, handing each line of its output to `line` until that returns false (rg is then
 * killed); resolves with whether it stopped early or at the time limit. A pattern or glob rg
 * refuses is a SearchPatternError with rg's own message.
 */
function runRipgrep(
  args: string[],
  cwd: string,
  stdin: Buffer | undefined,
  separator: '\n' | '\0',
  line: (text: string) => boolean,
): Promise<{ stopped: boolean; timedOut: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn('rg', args, { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stopped = false;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, SEARCH_TIMEOUT_MS);
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < 4_000) stderr += chunk.toString('utf8');
    });
    let rest = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      if (stopped) return;
      const parts = (rest + chunk).split(separator);
      rest = parts.pop()!;
      for (const part of parts) {
        if (!line(part)) {
          stopped = true;
          child.kill('SIGKILL');
          return;
        }
      }
    });
    // rg may exit before reading all of it (the limit reached): that is not an error. Without
    // content, stdin is closed at once: rg searches its path argument, never a pipe left open.
    child.stdin.on('error', () => {});
    child.stdin.end(stdin);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (!stopped && rest !== '') line(rest);
      // 1 is "nothing found"; 2 with output is an unreadable file among readable ones.
      if (code === 2 && /regex parse error|error parsing glob|unrecognized|invalid/i.test(stderr)) {
        reject(
          new SearchPatternError(`ripgrep refused the search: ${stderr.trim().split('\n').slice(0, 8).join('\n')}`),
        );
        return;
      }
      resolve({ stopped, timedOut });
    });
  });
}

/** A line of `rg --json`: `match` events carry a matching line. */
interface RipgrepEvent {
  type: string;
  data: { path?: RipgrepData; lines?: RipgrepData; line_number?: number };
}
type RipgrepData = { text?: string; bytes?: string };

async function grep(cwd: string, query: GrepQuery, limit: number, stdin: Buffer | undefined): Promise<Found<Match>> {
  const args = [
    ...common(stdin ? undefined : query.glob),
    '--json',
    '--max-filesize',
    String(MAX_SEARCH_FILE_BYTES),
    ...(query.ignoreCase ? ['--ignore-case'] : ['--case-sensitive']),
    '--',
    query.pattern,
    stdin ? '-' : '.',
  ];
  const items: Match[] = [];
  let more = false;
  const { timedOut } = await runRipgrep(args, cwd, stdin, '\n', (text) => {
    let event: RipgrepEvent;
    try {
      event = JSON.parse(text) as RipgrepEvent;
    } catch {
      return true; // Not one of rg's JSON lines: nothing to report.
    }
    if (event.type !== 'match') return true;
    if (items.length === limit) {
      more = true;
      return false;
    }
    items.push({
      path: stdin ? '' : relative(textOf(event.data.path)),
      line: event.data.line_number ?? 0,
      text: textOf(event.data.lines).replace(/\r?\n$/, ''),
    });
    return true;
  });
  return { items, more, ...(timedOut && !more ? { timedOut } : {}) };
}

export const ripgrepEngine: SearchEngine = {
  async files(dir, glob, limit) {
    const items: string[] = [];
    let more = false;
    const { timedOut } = await runRipgrep([...common(glob), '--files', '--null', '.'], dir, undefined, '\0', (path) => {
      if (items.length === limit) {
        more = true;
        return false;
      }
      items.push(relative(path));
      return true;
    });
    return { items, more, ...(timedOut && !more ? { timedOut } : {}) };
  },
  grepTree: (dir, query, limit) => grep(dir, query, limit, undefined),
  grepText: (content, query, limit) => grep('/', query, limit, content),
};
