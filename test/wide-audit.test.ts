import type { ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { addCounters, initialCounters, type Counters } from '../common/counters.js';
import type { RunResult } from '../common/messages.js';
import { mulberry32 } from '../simulator/seeded-random.js';
import { auditGroundTruth, auditReport, NOTE_EVERY } from '../simulator/scenarios/audit.js';
import { splitRanges } from '../simulator/scenarios/wide-audit.js';
import { effects } from './helpers/audit-run.js';
import { holdAfter } from './helpers/gate.js';
import { useHarness } from './helpers/harness.js';
import { AGENTS_MODULE, agents, startBatchedAudit, startWideAudit } from './helpers/wide-audit.js';

/**
 * Done-when 2 and 3 of issue 16 on the wide audit (simulator/scenarios/wide-audit.ts): a parent
 * with 8 sub-agents writes the report one agent writes, its totals are its own chain's counters
 * plus its children's, and SIGKILLs of the worker while the children run lose and repeat nothing.
 */

const N = Number(process.env.LONGHAUL_WIDE_FILES ?? 2_000);
const CHILDREN = 8;
const log = (line: string) => console.log(`[wide] ${line}`);

const h = useHarness({ worker: { agents } });
const on = (taskQueue = h.taskQueue) => ({ client: h.env.client, taskQueue, dir: h.dir });

/** The effects journal's lines of one run and its sub-agents (whose ids start with the parent's). */
async function writesOf(workflowId: string): Promise<string[]> {
  return (await effects(h)).filter(
    (line) => line.startsWith(`${workflowId}/`) || line.startsWith(`${workflowId}.sub-`),
  );
}

function duplicateKeys(lines: string[]): string[] {
  const keys = lines.map((line) => line.split(' ')[0]!);
  return keys.filter((key, i) => keys.indexOf(key) !== i);
}

/** What the simulator billed and answered, to compare with what the runs counted. */
const simTally = () => {
  const { messages, inputTokens } = h.simulator.stats();
  return { messages, inputTokens };
};

describe('the wide audit', () => {
  let wideReport: string | undefined;
  let wideWrites = 0;

  it(`a parent with ${CHILDREN} sub-agents audits ${N} files: the report of one agent, totals of parent and children`, async () => {
    const expected = auditReport(N, auditGroundTruth(N));

    let before = simTally();
    let started = Date.now();
    const one = await startBatchedAudit(on(), 'one-agent', N);
    const single = await one.handle.result();
    const oneSpent = simTally();
    log(`one agent: ${single.counters.turn} turns in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    expect(single.status).toBe('completed');
    expect(single.report).toBe(expected);
    expect(single.children).toBeUndefined();
    // A run alone on the simulator: it counted every call the simulator answered.
    expect(single.counters.modelCalls).toBe(oneSpent.messages - before.messages);

    before = simTally();
    started = Date.now();
    const { handle, workspace } = await startWideAudit(on(), 'wide', N, CHILDREN);
    const result = await handle.result();
    const spent = simTally();
    log(
      `parent + ${CHILDREN} children: ${result.counters.turn} parent turns, ${result.totals?.turn} in all, ` +
        `in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
    expect(result.status).toBe('completed');
    expect(result.report).toBe(expected);
    expect(result.report).toBe(single.report);
    expect(await readFile(join(workspace, 'report.md'), 'utf8')).toBe(expected);

    // Every child ran, completed and audited its share, each to its own closed workflow.
    const children = result.children ?? [];
    expect(children).toHaveLength(CHILDREN);
    expect(children.every((c) => c.status === 'completed')).toBe(true);
    const childResults: RunResult[] = await Promise.all(
      children.map((c) => h.env.client.workflow.getHandle(c.workflowId).result() as Promise<RunResult>),
    );
    for (const [i, child] of childResults.entries()) {
      expect(child.status).toBe('completed');
      // The record the parent keeps is the child's own result's counters.
      expect(children[i]!.counters).toEqual(child.totals ?? child.counters);
    }
    // The totals: the parent's counters (over its chain) plus each child's, recomputed here.
    const recomputed = childResults.reduce<Counters>(
      (sum, child) => addCounters(sum, child.counters),
      addCounters(initialCounters(), result.counters),
    );
    expect(result.totals).toEqual({
      ...recomputed,
      idleReplies: result.counters.idleReplies,
      failuresInRow: result.counters.failuresInRow,
    });
    // And against what the simulator saw: every call answered, of parent and children, is counted once.
    expect(result.totals!.modelCalls).toBe(spent.messages - before.messages);
    expect(result.totals!.modelCalls).toBe(
      result.counters.modelCalls + childResults.reduce((s, c) => s + c.counters.modelCalls, 0),
    );

    const writes = await writesOf(handle.workflowId);
    expect(duplicateKeys(await effects(h))).toEqual([]);
    // The one agent's progress notes and report; the children's notes, one every NOTE_EVERY files
    // of each range, and the parent's report.
    expect(await writesOf(one.handle.workflowId)).toHaveLength(Math.floor(N / NOTE_EVERY) + 1);
    const childNotes = splitRanges(N, CHILDREN).map(({ from, to }) => Math.floor((to - from + 1) / NOTE_EVERY));
    expect(writes).toHaveLength(childNotes.reduce((a, b) => a + b, 0) + 1);
    wideReport = result.report;
    wideWrites = writes.length;
  }, 600_000);

  it('SIGKILLs of the worker while the children run: the same report, no side effect twice', async () => {
    expect(wideReport, 'the uninterrupted wide audit ran first').toBeDefined();
    const seed = Number(process.env.LONGHAUL_CRASH_SEED ?? 0x5eed16);
    const random = mulberry32(seed);
    // Kills at model requests of the fan-out: past the parent's first two (list, delegate), inside
    // the children's ~230 requests.
    const killAt = [12, 60, 130];
    log(`seed ${seed}: SIGKILL at model requests ${killAt.join(', ')}`);

    const started = Date.now();
    const { handle, workspace } = await startWideAudit(on('wide-kill'), 'killed', N, CHILDREN);
    let worker: ChildProcess | undefined;
    for (const [i, target] of killAt.entries()) {
      const gate = holdAfter(h.simulator, target - (killAt[i - 1] ?? 0));
      worker = await h.spawnWorker('wide-kill', {}, { agents: AGENTS_MODULE });
      await gate.passed();
      await sleep(Math.floor(random() * 400));
      worker.kill('SIGKILL');
      await new Promise((r) =>
        worker!.exitCode !== null || worker!.signalCode !== null ? r(undefined) : worker!.once('exit', r),
      );
      gate.open();
      expect((await handle.describe()).status.name).toBe('RUNNING');
      const running = (
        await h.env.client.workflow
          .getHandle(`${handle.workflowId}.sub-1`)
          .describe()
          .catch(() => undefined)
      )?.status.name;
      log(
        `killed the worker at model request ${target} (first child ${running ?? 'not started'}), ${((Date.now() - started) / 1000).toFixed(1)} s in`,
      );
    }
    worker = await h.spawnWorker('wide-kill', {}, { agents: AGENTS_MODULE });
    const result = await handle.result();
    worker.kill('SIGTERM');
    log(`killed run: ${result.totals?.turn} turns in all in ${((Date.now() - started) / 1000).toFixed(1)} s`);

    expect(result.status).toBe('completed');
    expect(result.report).toBe(wideReport);
    expect(await readFile(join(workspace, 'report.md'), 'utf8')).toBe(wideReport);
    expect(result.children?.map((c) => c.status)).toEqual(Array(CHILDREN).fill('completed'));
    // No child started twice: the parent's children are the 8 it delegated to, no more.
    expect(new Set(result.children?.map((c) => c.workflowId)).size).toBe(CHILDREN);

    expect(duplicateKeys(await effects(h))).toEqual([]);
    const writes = await writesOf(handle.workflowId);
    // As in crash.test.ts: a kill between a write and its journal line leaves the line out (the
    // retry finds the write done and acts no more), so at most one line fewer per kill, never more.
    log(`journal: ${writes.length} of ${wideWrites} writes`);
    expect(writes.length).toBeLessThanOrEqual(wideWrites);
    expect(writes.length).toBeGreaterThanOrEqual(wideWrites - killAt.length);
  }, 900_000);
});
