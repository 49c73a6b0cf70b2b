import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditGroundTruth, auditReport, auditTask } from '../simulator/scenarios/audit.js';
import { startSimulator, type Simulator } from '../simulator/server.js';
import { startRun } from '../client/connect.js';
import { startAudit } from './helpers/audit-run.js';
import { useHarness } from './helpers/harness.js';
import { createAnthropic } from '../worker/create.js';

const h = useHarness({ worker: {} });

async function probe(task: string) {
  const workspace = join(h.dir, task.replace(/\W/g, ''));
  await mkdir(workspace, { recursive: true });
  const handle = await startRun(
    h.env.client,
    { task, workspace },
    { taskQueue: h.taskQueue, workflowId: `probe-${Date.now()}-${Math.random()}` },
  );
  return handle.result();
}

describe('faults from the model side', () => {
  it('429 (retry-after), 529, 500, 503 and a dropped connection are retried and the run completes', async () => {
    const before = h.simulator.stats().faultsServed;
    h.simulator.injectFaults([
      { status: 429, headers: { 'retry-after': '1' }, match: 'messages' },
      { status: 529, match: 'messages' },
      { status: 500, match: 'messages' },
      { status: 503, match: 'messages' },
      { dropConnection: true, match: 'messages' },
    ]);
    const { handle } = await startAudit(h, 'faulty', 8);
    const result = await handle.result();
    expect(result.report).toBe(auditReport(8, auditGroundTruth(8)));
    expect(h.simulator.stats().faultsServed - before).toBe(5);
    expect(result.counters.failuresInRow).toBe(0);
  });

  it('malformed tool input from the model becomes a tool error it can act on', async () => {
    const result = await probe('[sim:bad-tool-input]');
    expect(result.report).toBe(
      'error: invalid input for read_file: path: Invalid input: expected string, received undefined; input: Unrecognized key: "file"',
    );
  });

  it('a schema-invalid update_state becomes a tool error, and the run goes on to the correct report', async () => {
    const { handle } = await startAudit(h, 'invalid-update', 5, { task: auditTask(5, { invalidUpdateOnce: true }) });
    const result = await handle.result();
    expect(result.report).toBe(auditReport(5, auditGroundTruth(5)));
    expect(result.counters.toolErrors).toBe(1);
    expect(result.state.itemsDone).toHaveLength(5);
  });

  it('an unknown tool name becomes a tool error that lists the tools', async () => {
    const result = await probe('[sim:unknown-tool]');
    expect(result.report).toBe('error: unknown tool "rm_rf"; available: list_files, read_file, write_file');
  });
});

describe('a context that outgrows the model window', () => {
  const small = useHarness();
  let sim: Simulator;
  beforeAll(async () => {
    // The harness's worker talks to its own simulator; this one has a small window.
    sim = await startSimulator({ contextWindowTokens: 30_000 });
  });
  afterAll(() => sim?.close());

  // With threshold compaction on (its trigger above the window), the requests after an on-demand
  // block must leave the threshold edit out: the simulator refuses the two together, as the API does.
  it.each([
    ['threshold compaction off', { enabled: false }],
    ['threshold compaction on, trigger above the window', { trigger: 50_000 }],
  ])('is compacted on demand and the run goes on to the correct report (%s)', async (name, compaction) => {
    const w = await small.startWorker({ anthropic: createAnthropic({ ANTHROPIC_BASE_URL: sim.url }) });
    const { handle } = await startAudit(small, `window-${name.split(' ')[3]}`, 60, { compaction });
    const result = await w.runUntil(handle.result());
    expect(result.report).toBe(auditReport(60, auditGroundTruth(60)));
    expect(result.counters.compactions).toBeGreaterThanOrEqual(1);
    for (const c of result.compactions) {
      expect(c.inputTokensBefore).toBeGreaterThan(30_000);
      expect(c.inputTokensAfter).toBeGreaterThan(0);
      expect(c.inputTokensAfter).toBeLessThan(5_000);
    }
    expect(result.counters.maxInputTokens).toBeLessThan(30_000 + 2_000);
  });
});
