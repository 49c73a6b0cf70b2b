import { describe, expect, it } from 'vitest';
import { auditGroundTruth, auditReport } from '../simulator/scenarios/audit.js';
import { startAudit } from './helpers/audit-run.js';
import { chainHistories } from './helpers/chain.js';
import { useHarness } from './helpers/harness.js';

// Temporal warns at 10,240 events or 10 MiB of history per run: the run must stay below the warnings, not just the limits.
const WARN_BYTES = 10 * 1024 * 1024;
const WARN_EVENTS = 10_240;
const N = 1_000;

const h = useHarness();

describe('a 1,000-turn run under the server defaults', () => {
  it('completes, and every run of its chain stays under the history warning levels', async () => {
    const worker = await h.startWorker();
    const { handle } = await startAudit(h, 'thousand', N, { maxTurns: N + 100 });
    const result = await worker.runUntil(handle.result());
    expect(result.status).toBe('completed');
    expect(result.report).toBe(auditReport(N, auditGroundTruth(N)));
    expect(result.counters.turn).toBeGreaterThanOrEqual(N);

    const runs = await chainHistories(h.env.client, handle.workflowId);
    expect(runs).toHaveLength(result.chain.runNumber);
    for (const run of runs) {
      expect(run.bytes).toBeGreaterThan(0);
      expect(run.bytes).toBeLessThan(WARN_BYTES);
      expect(run.events).toBeLessThan(WARN_EVENTS);
    }
    const total = runs.reduce((sum, r) => sum + r.bytes, 0);
    console.log(
      `1,000-turn chain: ${runs.length} runs, ${total} history bytes in all, largest run ${Math.max(...runs.map((r) => r.bytes))} bytes / ${Math.max(...runs.map((r) => r.events))} events`,
    );
  });
});
