import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresStore } from '../store/postgres-store.js';
import { auditGroundTruth, auditReport } from '../simulator/scenarios/audit.js';
import { startAudit } from './helpers/audit-run.js';
import { useHarness } from './helpers/harness.js';
import { startPostgres, type TestPostgres } from './helpers/postgres.js';

const N = 250;
const h = useHarness();
let server: TestPostgres;

beforeAll(async () => {
  server = await startPostgres();
});
afterAll(() => server?.destroy());

describe('the PostgreSQL transcript store', () => {
  it('carries the 250-turn audit to the correct report, with compactions, on a real PostgreSQL', async () => {
    const store = await PostgresStore.connect(server.url);
    try {
      const worker = await h.startWorker({ store });
      const { handle } = await startAudit(h, 'pg', N);
      const result = await worker.runUntil(handle.result());
      expect(result.report).toBe(auditReport(N, auditGroundTruth(N)));
      expect(result.counters.compactions).toBeGreaterThanOrEqual(3);
      // Each progress note and the report were written once: the journal of effects says so.
      const client = new pg.Client({ connectionString: server.url });
      await client.connect();
      const { rows } = await client.query<{ line: string }>('SELECT line FROM longhaul_effects WHERE line LIKE $1', [
        `${handle.workflowId}/%`,
      ]);
      await client.end();
      expect(rows).toHaveLength(N / 50 + 1);
    } finally {
      await store.close();
    }
  });
});
