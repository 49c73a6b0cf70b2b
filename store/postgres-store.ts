import pg from 'pg';
import { blobMissing, ContentStore, refFor, type BlobRef } from './blob-store.js';

export interface PostgresStoreOptions {
  /** Connections per worker process; activities beyond this wait for a free one. */
  maxConnections?: number;
  /** How long to wait for a connection before failing (retryably) instead of hanging. */
  connectTimeoutMs?: number;
}

/**
 * An arbitrary constant key for `pg_advisory_xact_lock`: concurrent `CREATE TABLE IF NOT EXISTS`
 * statements can still collide on the catalog's unique index, so workers starting at the same
 * moment take turns creating the schema.
 */
const SCHEMA_LOCK = 7_356_142_801;

// Blob content is bytea, not text: PostgreSQL text cannot hold U+0000, which raw tool output (a
// binary file read by a tool) may contain. The bytes are the UTF-8 the ref is the hash of.
const SCHEMA = `
  CREATE TABLE IF NOT EXISTS longhaul_blobs (ref text PRIMARY KEY, content bytea NOT NULL);
  CREATE TABLE IF NOT EXISTS longhaul_ledger (key text PRIMARY KEY, value text NOT NULL);
  CREATE TABLE IF NOT EXISTS longhaul_effects (
    id bigserial PRIMARY KEY,
    line text NOT NULL,
    at timestamptz NOT NULL DEFAULT now()
  );`;

/**
 * A store shared by every worker that points at the same database. Errors from the driver
 * (connection refused, server shutting down, timeouts) are left as plain errors, which Temporal
 * retries; only a ref that the database answers for but does not hold is `BlobMissing`.
 */
export class PostgresStore extends ContentStore {
  private constructor(private readonly pool: pg.Pool) {
    super();
  }

  static async connect(url: string, opts: PostgresStoreOptions = {}): Promise<PostgresStore> {
    const pool = new pg.Pool({
      connectionString: url,
      max: opts.maxConnections ?? 10,
      connectionTimeoutMillis: opts.connectTimeoutMs ?? 10_000,
    });
    // An idle connection dropped by the server (restart, failover) is reported here; without a
    // listener the 'error' event would crash the worker. The pool discards the connection and the
    // next query opens a fresh one.
    pool.on('error', () => {});
    try {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        await client.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK]);
        await client.query(SCHEMA);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        throw err;
      } finally {
        client.release();
      }
    } catch (err) {
      await pool.end().catch(() => {});
      throw err;
    }
    return new PostgresStore(pool);
  }

  async put(content: string, ref: BlobRef = refFor(content)): Promise<BlobRef> {
    // Same content, same ref: a retried or concurrent write of it is a no-op.
    await this.pool.query('INSERT INTO longhaul_blobs (ref, content) VALUES ($1, $2) ON CONFLICT (ref) DO NOTHING', [
      ref,
      Buffer.from(content, 'utf8'),
    ]);
    return ref;
  }

  async readStored(ref: BlobRef): Promise<string> {
    const { rows } = await this.pool.query<{ content: Buffer }>('SELECT content FROM longhaul_blobs WHERE ref = $1', [
      ref,
    ]);
    const row = rows[0];
    if (!row) throw blobMissing(ref);
    return row.content.toString('utf8');
  }

  async getRecord(key: string): Promise<string | undefined> {
    const { rows } = await this.pool.query<{ value: string }>('SELECT value FROM longhaul_ledger WHERE key = $1', [
      key,
    ]);
    return rows[0]?.value;
  }

  async putRecord(key: string, value: string): Promise<void> {
    // Last write wins, as with the directory store: a retry records the same result again.
    await this.pool.query(
      'INSERT INTO longhaul_ledger (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value',
      [key, value],
    );
  }

  async createRecord(key: string, value: string): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      'INSERT INTO longhaul_ledger (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING',
      [key, value],
    );
    return rowCount === 1;
  }

  async journal(line: string): Promise<void> {
    await this.pool.query('INSERT INTO longhaul_effects (line) VALUES ($1)', [line]);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
