import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { auditGroundTruth, auditReport } from '../simulator/scenarios/audit.js';
import { progressQuery, stateQuery } from '../common/messages.js';
import { useHarness } from './helpers/harness.js';
import { effects, startAudit, TRIGGER } from './helpers/audit-run.js';
import { holdAfter } from './helpers/gate.js';

const N = 250;
const expectedReport = auditReport(N, auditGroundTruth(N));
/** One turn adds at most a file (~3,700 chars), the assistant's calls and a state entry: far under 2,000 tokens. */
const ONE_TURN_TOKENS = 2_000;

const h = useHarness();

describe('a 250-turn audit on a real dev server', () => {
  let uninterrupted: string | undefined;

  it('completes with the correct report, compacting at least 3 times and never exceeding the trigger by more than a turn', async () => {
    const worker = await h.startWorker();
    const { handle, workspace } = await startAudit(h, 'plain', N);
    const { result, progress, state } = await worker.runUntil(async () => {
      const result = await handle.result();
      // The queries read the same bookkeeping from the closed run.
      return { result, progress: await handle.query(progressQuery), state: await handle.query(stateQuery) };
    });
    uninterrupted = result.report;

    expect(result.status).toBe('completed');
    expect(result.report).toBe(expectedReport);
    expect(result.counters.turn).toBeGreaterThanOrEqual(N);
    expect(result.counters.compactions).toBeGreaterThanOrEqual(3);
    expect(result.compactions).toHaveLength(result.counters.compactions);
    for (const c of result.compactions) {
      expect(c.inputTokensBefore).toBeGreaterThan(TRIGGER);
      expect(c.inputTokensBefore).toBeLessThanOrEqual(TRIGGER + ONE_TURN_TOKENS);
      expect(c.inputTokensAfter).toBeLessThan(c.inputTokensBefore / 5);
    }
    // The answering calls themselves always ran on a context at most the trigger plus one turn.
    expect(result.counters.maxInputTokens).toBeLessThanOrEqual(TRIGGER + ONE_TURN_TOKENS);
    expect(h.simulator.stats().maxVisibleInputTokens).toBeLessThanOrEqual(TRIGGER + ONE_TURN_TOKENS);
    expect(result.state.itemsDone).toHaveLength(N);
    expect(await readFile(join(workspace, 'report.md'), 'utf8')).toBe(expectedReport);
    expect(progress.compactions).toEqual(result.compactions);
    expect(progress.report).toBe(expectedReport);
    expect(state.findings).toEqual(result.state.findings);
  });

  it('survives two SIGKILLs of a child-process worker with an identical report and no side effect twice', async () => {
    const { handle } = await startAudit(h, 'killed', N);
    let before = 0;
    // At the 60th and 170th model request; the one after is held, so the run is still there to kill.
    for (const killAt of [60, 170]) {
      const gate = holdAfter(h.simulator, killAt - before);
      before = killAt;
      const child = await h.spawnWorker();
      await gate.passed();
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      gate.open();
      expect((await handle.describe()).status.name).toBe('RUNNING');
    }
    const last = await h.spawnWorker();
    const result = await handle.result();
    last.kill('SIGTERM');

    expect(result.status).toBe('completed');
    expect(result.report).toBe(expectedReport);
    expect(result.report).toBe(uninterrupted);
    const writes = (await effects(h)).filter((line) => line.startsWith(`${handle.workflowId}/`));
    // Five progress notes and the report, each written exactly once.
    expect(writes).toHaveLength(N / 50 + 1);
    expect(new Set(writes.map((l) => l.split(' ')[0])).size).toBe(writes.length);
  });

  it('without state injection the lossy summaries lose findings and the report is wrong', async () => {
    const worker = await h.startWorker();
    const { handle } = await startAudit(h, 'stateless', N, { injectState: false });
    const result = await worker.runUntil(handle.result());
    expect(result.counters.compactions).toBeGreaterThanOrEqual(3);
    expect(result.report).toBeDefined();
    expect(result.report).not.toBe(expectedReport);
    // The workflow still holds the truth: only the model lost it.
    expect(auditReport(N, result.state.findings)).toBe(expectedReport);
  });
});
