#!/usr/bin/env node
/**
 * Finds, or builds once, the real Temporal server (the version the pinned CLI's dev server
 * carries) and its SQL tool, with the PostgreSQL schema of that version, in the cache:
 * ~/.cache/longhaul/temporal-server-v<version>/{temporal-server, temporal-sql-tool, schema/}.
 * `go.temporal.io/server` has no `replace` directive, so `go install …@version` builds it from
 * the module proxy (about 7 minutes and 270 MB on 2 cores, once); its go.mod asks for Go 1.26.8.
 * Run directly (`node scripts/temporal-server.mjs`) it prints the cache directory.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TEMPORAL_SERVER_VERSION } from './temporal-cli.mjs';

const MODULE = 'go.temporal.io/server';

export function serverCacheDir() {
  const base = process.env.XDG_CACHE_HOME || join(process.env.HOME ?? '/root', '.cache');
  return join(base, 'longhaul', `temporal-server-v${TEMPORAL_SERVER_VERSION}`);
}

/** @param {string[]} args */
function go(args, env = {}) {
  const r = spawnSync('go', args, { encoding: 'utf8', env: { ...process.env, GOFLAGS: '-buildvcs=false', ...env } });
  if (r.error) throw new Error(`go ${args.join(' ')}: ${r.error.message} (is Go installed?)`);
  if (r.status !== 0) throw new Error(`go ${args.join(' ')} exited with ${r.status}:\n${r.stderr.slice(-4000)}`);
  return r.stdout.trim();
}

/**
 * The cache directory, holding `temporal-server`, `temporal-sql-tool` and `schema/` (the module's
 * `schema/postgresql/v12`); built first when missing.
 * @param {(line: string) => void} [log]
 */
export function ensureTemporalServer(log = (line) => process.stderr.write(`${line}\n`)) {
  const dir = serverCacheDir();
  const ready = ['temporal-server', 'temporal-sql-tool', 'schema'].every((f) => existsSync(join(dir, f)));
  if (ready) return dir;
  log(`building Temporal server ${TEMPORAL_SERVER_VERSION} with go install (once; several minutes)`);
  mkdirSync(join(dir, '..'), { recursive: true });
  const staging = mkdtempSync(join(dir, '..', '.temporal-server-'));
  try {
    const at = `@v${TEMPORAL_SERVER_VERSION}`;
    go(['install', `${MODULE}/cmd/server${at}`, `${MODULE}/cmd/tools/sql${at}`], { GOBIN: staging });
    renameSync(join(staging, 'server'), join(staging, 'temporal-server'));
    renameSync(join(staging, 'sql'), join(staging, 'temporal-sql-tool'));
    const moduleDir = go(['list', '-m', '-f', '{{.Dir}}', `${MODULE}${at}`], { GO111MODULE: 'on' });
    cpSync(join(moduleDir, 'schema', 'postgresql', 'v12'), join(staging, 'schema'), { recursive: true });
    rmSync(dir, { recursive: true, force: true });
    renameSync(staging, dir);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  return dir;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.stdout.write(`${ensureTemporalServer()}\n`);
}
