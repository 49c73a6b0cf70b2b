import type { Worker } from '@temporalio/worker';
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRun } from '../client/connect.js';
import { DirectoryStore } from '../store/directory-store.js';
import { FaultyLedger } from './helpers/faulty-ledger.js';
import { useHarness } from './helpers/harness.js';

/**
 * A real longhaul worker, model and tool activities and all, against the simulator, with its
 * ledger failing as told: `[sim:write]` writes out.txt through write_file and reports the result.
 */
describe('exactly once, or said so, end to end', () => {
  const h = useHarness();
  let store: FaultyLedger;
  let worker: Worker;
  let running: Promise<void>;
  beforeAll(async () => {
    store = new FaultyLedger(new DirectoryStore(h.storeDir));
    worker = await h.startWorker({ store });
    running = worker.run();
  });
  afterAll(async () => {
    worker.shutdown();
    await running;
  });

  async function write(workflowId = `once-${randomUUID().slice(0, 8)}`) {
    const workspace = join(h.dir, workflowId);
    await mkdir(workspace, { recursive: true });
    const handle = await startRun(
      h.env.client,
      { task: '[sim:write]', workspace, toolPolicies: { write_file: 'allow' } },
      { taskQueue: h.taskQueue, workflowId },
    );
    return { workflowId, workspace, runId: handle.firstExecutionRunId, result: await handle.result() };
  }
  const out = (workspace: string) => readFile(join(workspace, 'out.txt'), 'utf8');
  const journaled = (workflowId: string) => store.journaled.filter((line) => line.startsWith(`${workflowId}/`));

  it('with the ledger unwritable, write_file writes nothing; the model is told it may not have run, and the run completes', async () => {
    const workflowId = `unwritable-${randomUUID().slice(0, 8)}`;
    store.failFor(workflowId, { unwritable: true });
    const run = await write(workflowId);
    expect(run.result.status).toBe('completed');
    expect(run.result.report).toMatch(
      /^write failed: write_file could not be run \(the worker gave up: EROFS: .*\): it may or may not have taken effect/,
    );
    await expect(out(run.workspace)).rejects.toThrow(/ENOENT/);
    expect(journaled(workflowId)).toEqual([]);
  });

  it("with the result's record failing once after the write: written once, and the retry reports what write_file's check found", async () => {
    const workflowId = `result-lost-${randomUUID().slice(0, 8)}`;
    store.failFor(workflowId, { failResultWrites: 1 });
    const run = await write(workflowId);
    expect(run.result).toMatchObject({ status: 'completed', report: 'write succeeded: wrote 6 bytes to out.txt' });
    expect(await out(run.workspace)).toBe('hello\n');
    expect(journaled(workflowId)).toHaveLength(1);
  });

  it('a new run under a reused workflow id makes its write: ledger keys name the chain, not only the workflow id and turn', async () => {
    const first = await write();
    expect(first.result.report).toBe('write succeeded: wrote 6 bytes to out.txt');
    await rm(join(first.workspace, 'out.txt'));
    const second = await write(first.workflowId);
    expect(second.result.report).toBe('write succeeded: wrote 6 bytes to out.txt');
    expect(await out(second.workspace)).toBe('hello\n');
    // Same workflow id, same turn and position, same call: only the chain tells the two writes apart.
    const [a, b] = journaled(first.workflowId);
    expect(b).toBeDefined();
    expect(a).not.toBe(b);
  });
});
