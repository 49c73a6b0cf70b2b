/** What glob and grep ask of a search engine (ripgrep or the JavaScript walk), and what both return. */

/** Directories neither engine descends into: a repository's internals and installed packages. */
export const SKIPPED_DIRS = ['.git', 'node_modules'] as const;
/** Files larger than this are not searched for matches (ripgrep's --max-filesize). */
export const MAX_SEARCH_FILE_BYTES = 1024 * 1024;
/** A search stops here and reports what it found so far: glob and grep run as local activities. */
export const SEARCH_TIMEOUT_MS = 30_000;

export interface GrepQuery {
  /** A regular expression (ripgrep's syntax, or JavaScript's in the fallback: the common part is the same). */
  pattern: string;
  ignoreCase: boolean;
  /** Only files matching this glob. */
  glob?: string;
}

export interface Match {
  /** Relative to the directory searched. */
  path: string;
  line: number;
  text: string;
}

/** Up to `limit` items, and whether there were more (or the search stopped at its time limit). */
export interface Found<T> {
  items: T[];
  more: boolean;
  timedOut?: boolean;
}

export interface SearchEngine {
  /** Files under `dir` (a path naming an open directory) whose path relative to it matches `glob`. */
  files(dir: string, glob: string, limit: number): Promise<Found<string>>;
  /** Matching lines of the files under `dir`. */
  grepTree(dir: string, query: GrepQuery, limit: number): Promise<Found<Match>>;
  /** Matching lines of one file's content (path left empty). */
  grepText(content: Buffer, query: GrepQuery, limit: number): Promise<Found<Match>>;
}

/** A pattern the engine cannot use: a tool error naming it. */
export class SearchPatternError extends Error {}
