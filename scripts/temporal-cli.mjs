#!/usr/bin/env node
/**
 * Finds a Temporal CLI binary (which contains the dev server), building a pinned one once if needed.
 * Order: $TEMPORAL_CLI, `temporal` on PATH, the cached build, a fresh `go install` into the cache.
 * Run directly (`node scripts/temporal-cli.mjs`) it prints the path. Plain JavaScript, so that a
 * cached lookup costs a Node start and nothing more (types: temporal-cli.d.mts).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { accessSync, constants, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const TEMPORAL_CLI_VERSION = 'v1.5.1';
const MODULE = 'github.com/temporalio/cli/cmd/temporal';

/** @param {string} path */
const isExecutable = (path) => {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

export function cacheDir() {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'longhaul', `temporal-cli-${TEMPORAL_CLI_VERSION}`);
}

/** @param {string} name */
function onPath(name) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && isExecutable(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

/** The binary's path without building; undefined when none is found. */
export function findTemporalCli() {
  const fromEnv = process.env.TEMPORAL_CLI;
  if (fromEnv) {
    if (!isExecutable(fromEnv)) throw new Error(`TEMPORAL_CLI=${fromEnv} is not an executable file`);
    return fromEnv;
  }
  const cached = join(cacheDir(), 'temporal');
  return onPath('temporal') ?? (isExecutable(cached) ? cached : undefined);
}

/** @param {(line: string) => void} [log] */
export function ensureTemporalCli(log = (line) => process.stderr.write(`${line}\n`)) {
  const found = findTemporalCli();
  if (found) return found;
  const go = onPath('go');
  if (!go) {
    throw new Error(
      'No Temporal CLI found. Install it (https://docs.temporal.io/cli, e.g. `brew install temporal`) and put ' +
        '`temporal` on PATH, or set TEMPORAL_CLI=/path/to/temporal, or install Go >= 1.25 so longhaul can build it.',
    );
  }
  const dir = cacheDir();
  mkdirSync(dir, { recursive: true });
  log(`building Temporal CLI ${TEMPORAL_CLI_VERSION} with ${go} into ${dir} (once per machine, a few minutes)…`);
  const goVersion = execFileSync(go, ['env', 'GOVERSION'], { encoding: 'utf8' }).trim();
  const build = spawnSync(go, ['install', `${MODULE}@${TEMPORAL_CLI_VERSION}`], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, GOBIN: dir, CGO_ENABLED: '0', GOFLAGS: `${process.env.GOFLAGS ?? ''} -buildvcs=false`.trim() },
  });
  const binary = join(dir, 'temporal');
  if (build.status !== 0 || !isExecutable(binary)) {
    throw new Error(
      `go install ${MODULE}@${TEMPORAL_CLI_VERSION} failed (exit ${build.status}, ${goVersion}; it needs Go >= 1.25). ` +
        'Install the Temporal CLI yourself and set TEMPORAL_CLI, or put `temporal` on PATH.',
    );
  }
  return binary;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    process.stdout.write(`${ensureTemporalCli()}\n`);
  } catch (err) {
    process.stderr.write(`longhaul: ${/** @type {Error} */ (err).message}\n`);
    process.exit(1);
  }
}
