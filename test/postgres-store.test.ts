import { ApplicationFailure } from '@temporalio/common';
import pg from 'pg';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { refFor } from '../store/blob-store.js';
import { DirectoryStore } from '../store/directory-store.js';
import { openStore } from '../store/index.js';
import { PostgresStore } from '../store/postgres-store.js';
import { startPostgres, type TestPostgres } from './helpers/postgres.js';

const root = fileURLToPath(new URL('..', import.meta.url));

describe('PostgresStore against a real PostgreSQL server', () => {
  let server: TestPostgres;
  let store: PostgresStore;
  let sql: pg.Client;

  beforeAll(async () => {
    const started = Date.now();
    server = await startPostgres();
    console.log(`postgres up in ${((Date.now() - started) / 1000).toFixed(1)}s at ${server.url}`);
    store = await PostgresStore.connect(server.url);
    sql = new pg.Client(server.url);
    sql.on('error', () => {}); // the server is stopped mid-test; this client is not used across it
    await sql.connect();
  });

  afterAll(async () => {
    await sql?.end().catch(() => {});
    await store?.close();
    await server?.destroy();
  });

  const count = async (query: string, params: unknown[] = []) =>
    Number((await sql.query<{ n: string }>(`SELECT count(*) AS n FROM ${query}`, params)).rows[0]?.n);

  it('round-trips content and writes the same content once', async () => {
    const content = JSON.stringify({ role: 'assistant', text: 'héllo 🌍' }) + '\u0000 binary tail';
    const ref = await store.put(content);
    expect(ref).toBe(refFor(content));
    expect(await store.put(content)).toBe(ref);
    expect(await store.get(ref)).toBe(content);
    expect(await count('longhaul_blobs WHERE ref = $1', [ref])).toBe(1);
  });

  it('fails a missing ref with a non-retryable BlobMissing naming it', async () => {
    const ref = refFor('never stored');
    const err = await store.get(ref).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect(err).toMatchObject({ type: 'BlobMissing', nonRetryable: true });
    expect((err as Error).message).toContain(ref);
  });

  it('createRecord claims a key once: of ten concurrent claims one wins; a taken key is left as it is', async () => {
    const won = await Promise.all(Array.from({ length: 10 }, (_, i) => store.createRecord('run-1/claim', `v${i}`)));
    expect(won.filter(Boolean)).toHaveLength(1);
    expect(await store.getRecord('run-1/claim')).toBe(`v${won.indexOf(true)}`);
    await store.putRecord('run-1/claim', 'done');
    expect(await store.createRecord('run-1/claim', 'again')).toBe(false);
    expect(await store.getRecord('run-1/claim')).toBe('done');
  });

  it('keeps ledger records by key', async () => {
    expect(await store.getRecord('run-1/turn-3/call-a')).toBeUndefined();
    await store.putRecord('run-1/turn-3/call-a', '{"content":"done"}');
    expect(await store.getRecord('run-1/turn-3/call-a')).toBe('{"content":"done"}');
    await store.putRecord('run-1/turn-3/call-a', '{"content":"done again"}');
    expect(await store.getRecord('run-1/turn-3/call-a')).toBe('{"content":"done again"}');
  });

  it('appends journal lines in order', async () => {
    await store.journal('key-1 write_file');
    await store.journal('key-2 run_command (error)');
    const { rows } = await sql.query<{ line: string; at: Date }>('SELECT line, at FROM longhaul_effects ORDER BY id');
    expect(rows.map((r) => r.line)).toEqual(['key-1 write_file', 'key-2 run_command (error)']);
    expect(rows[0]?.at).toBeInstanceOf(Date);
  });

  it('shares blobs between two workers', async () => {
    const other = await PostgresStore.connect(server.url);
    try {
      const a = await store.put('written by worker A');
      const b = await other.put('written by worker B');
      expect(await other.get(a)).toBe('written by worker A');
      expect(await store.get(b)).toBe('written by worker B');
    } finally {
      await other.close();
    }
  });

  it('creates the schema idempotently when workers connect at once', async () => {
    await sql.query('CREATE DATABASE fresh');
    const url = server.url.replace(/\/postgres$/, '/fresh');
    const workers = await Promise.all(Array.from({ length: 6 }, () => PostgresStore.connect(url)));
    try {
      const ref = await workers[0]!.put('after a concurrent start');
      expect(await workers[5]!.get(ref)).toBe('after a concurrent start');
    } finally {
      await Promise.all(workers.map((w) => w.close()));
    }
  });

  it('opens PostgresStore for a postgres URL and a directory otherwise', async () => {
    for (const url of [server.url, server.url.replace(/^postgres:/, 'postgresql:')]) {
      const opened = await openStore({ LONGHAUL_STORE_URL: url, LONGHAUL_STORE_DIR: '/nonexistent' });
      expect(opened).toBeInstanceOf(PostgresStore);
      await opened.close();
    }
    expect(await openStore({ LONGHAUL_STORE_DIR: '/tmp/x' })).toBeInstanceOf(DirectoryStore);
    expect(await openStore({ LONGHAUL_STORE_URL: '', LONGHAUL_STORE_DIR: '/tmp/x' })).toBeInstanceOf(DirectoryStore);
  });

  it('a blob edited in the database is refused as BlobCorrupt naming its ref', async () => {
    const ref = await store.put('the task as submitted');
    await sql.query('UPDATE longhaul_blobs SET content = $2 WHERE ref = $1', [ref, Buffer.from('the task, edited')]);
    await expect(store.get(ref)).rejects.toMatchObject({ type: 'BlobCorrupt', nonRetryable: true });
    await expect(store.get(ref)).rejects.toThrow(ref);
  });

  it("deploy/store-setup.sh: the workers' role owns the store's database and can reach nothing else", async () => {
    for (const db of ['temporal', 'temporal_visibility', 'compose_store']) await sql.query(`CREATE DATABASE ${db}`);
    const at = new URL(server.url);
    // A store an older deployment's workers made as the superuser: the role is given its tables.
    const older = await PostgresStore.connect(server.url.replace(/\/postgres$/, '/compose_store'));
    const before = await older.put('written by the superuser');
    await older.close();
    const setup = () =>
      spawnSync('sh', [join(root, 'deploy/store-setup.sh')], {
        encoding: 'utf8',
        env: {
          PATH: process.env.PATH,
          PGHOST: at.hostname,
          PGPORT: at.port,
          PGUSER: at.username,
          STORE_DB: 'compose_store',
          WORKER_USER: 'longhaul_worker',
          WORKER_PASSWORD: 'worker-secret',
        },
      });
    for (const run of [setup(), setup()])
      expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
    const as = (db: string) => `postgres://longhaul_worker:worker-secret@${at.host}/${db}`;
    const worker = await PostgresStore.connect(as('compose_store'));
    try {
      expect(await worker.get(before)).toBe('written by the superuser');
      const ref = await worker.put('written by the worker role');
      await worker.putRecord('k', 'v');
      await worker.journal('k write_file');
      expect(await worker.get(ref)).toBe('written by the worker role');
    } finally {
      await worker.close();
    }
    for (const db of ['temporal', 'temporal_visibility', 'postgres']) {
      const client = new pg.Client(as(db));
      await expect(client.connect()).rejects.toThrow(/permission denied for database/);
    }
    const { rows } = await sql.query<{ rolsuper: boolean; rolcreaterole: boolean; rolcreatedb: boolean }>(
      "SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = 'longhaul_worker'",
    );
    expect(rows).toEqual([{ rolsuper: false, rolcreaterole: false, rolcreatedb: false }]);
  });

  it('fails retryably while the database is down and recovers when it returns', async () => {
    const ref = await store.put('survives a database restart');
    await sql.end();
    await server.stop();
    try {
      const err = await store.get(ref).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(Error);
      expect(err).not.toBeInstanceOf(ApplicationFailure);
      expect((err as { type?: string }).type).not.toBe('BlobMissing');
      await expect(store.put('written while down')).rejects.toThrow();
      // A worker starting while the database is down fails to start; it does not hang.
      await expect(PostgresStore.connect(server.url, { connectTimeoutMs: 5_000 })).rejects.toThrow();
    } finally {
      await server.start();
    }
    expect(await store.get(ref)).toBe('survives a database restart');
    sql = new pg.Client(server.url);
    await sql.connect();
  });
});
