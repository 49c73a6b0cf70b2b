import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { appendFile, chown, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.js';

export interface TestPostgres {
  /** `postgres://postgres@127.0.0.1:<port>/postgres`, trust auth. */
  url: string;
  /** Stops the server, keeping its data directory. */
  stop(): Promise<void>;
  /** Starts it again on the same data directory and port. */
  start(): Promise<void>;
  /** Stops the server (if running) and deletes its temporary directory. */
  destroy(): Promise<void>;
}

/** The newest Debian PostgreSQL server's bin directory (`/usr/lib/postgresql/<major>/bin`). */
function findBinDir(): string {
  const root = '/usr/lib/postgresql';
  const majors = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))) : [];
  const newest = majors.sort((a, b) => Number(b) - Number(a))[0];
  if (!newest) {
    throw new Error(
      `PostgreSQL server binaries not found under ${root}/*/bin: run \`bash scripts/install-postgres.sh\``,
    );
  }
  return join(root, newest, 'bin');
}

/** PostgreSQL refuses to run as root, so as root the server runs as `postgres` (created if missing). */
function serverUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    execFileSync('useradd', [
      '--system',
      '--user-group',
      '--no-create-home',
      '--shell',
      '/usr/sbin/nologin',
      'postgres',
    ]);
    return { uid: id('-u'), gid: id('-g') };
  }
}

export interface PostgresOptions {
  /** An address of a network namespace the test made, to listen on besides 127.0.0.1. */
  listen?: string;
  /** The clients (a CIDR) that may connect to `listen` without a password. */
  allow?: string;
}

/**
 * Starts a throwaway PostgreSQL server: its own cluster in a temporary directory, listening on
 * 127.0.0.1 only at a free port, with its unix socket in that directory too (so it never touches a
 * system cluster's /var/run/postgresql). Durability is switched off for speed.
 */
export async function startPostgres(opts: PostgresOptions = {}): Promise<TestPostgres> {
  const host = opts.listen ?? '127.0.0.1';
  const bin = findBinDir();
  const user = serverUser();
  const dir = await mkdtemp(join(tmpdir(), 'longhaul-pg-'));
  const data = join(dir, 'data');
  const log = join(dir, 'server.log');
  if (user) await chown(dir, user.uid, user.gid);

  const run = (tool: string, args: string[]) =>
    new Promise<void>((resolve, reject) => {
      // cwd is the temp dir: the server user may not be allowed into the caller's directory.
      const child = spawn(join(bin, tool), args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], ...user });
      let output = '';
      child.stdout.on('data', (d: Buffer) => (output += d.toString()));
      child.stderr.on('data', (d: Buffer) => (output += d.toString()));
      child.once('error', reject);
      child.once('close', (code) => {
        if (code === 0) return resolve();
        void readFile(log, 'utf8')
          .catch(() => '')
          .then((serverLog) =>
            reject(new Error(`${tool} ${args.join(' ')} exited with ${code}:\n${output}\n${serverLog.slice(-4000)}`)),
          );
      });
    });

  let running = false;
  const start = async () => {
    await run('pg_ctl', ['start', '--wait', '--timeout=60', '--pgdata', data, '--log', log]);
    running = true;
  };
  const stop = async () => {
    // fast: disconnects clients at once, as a crashed or restarted database server would.
    await run('pg_ctl', ['stop', '--wait', '--mode=fast', '--pgdata', data]);
    running = false;
  };

  // A test process that dies without calling destroy() should not leave a server behind.
  const killOnExit = () => {
    if (running) spawnSync(join(bin, 'pg_ctl'), ['stop', '--mode=immediate', '--pgdata', data], { cwd: dir, ...user });
  };
  process.once('exit', killOnExit);

  try {
    await run('initdb', [
      '--pgdata',
      data,
      '--username=postgres',
      '--auth=trust',
      '--encoding=UTF8',
      '--locale=C',
      '--no-sync',
    ]);
    const port = await freePort();
    // In postgresql.conf rather than on pg_ctl's command line, so start() after stop() reuses them.
    await appendFile(
      join(data, 'postgresql.conf'),
      [
        `listen_addresses = '${opts.listen ? `127.0.0.1,${opts.listen}` : '127.0.0.1'}'`,
        `port = ${port}`,
        `unix_socket_directories = '${dir}'`,
        'fsync = off',
        'synchronous_commit = off',
        'full_page_writes = off',
        '',
      ].join('\n'),
    );
    if (opts.allow) await appendFile(join(data, 'pg_hba.conf'), `host all all ${opts.allow} trust\n`);
    await start();
    return {
      url: `postgres://postgres@${host}:${port}/postgres`,
      start,
      stop,
      async destroy() {
        process.off('exit', killOnExit);
        if (running) await stop();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    killOnExit();
    process.off('exit', killOnExit);
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}
