import { bundleWorkflowCode, Runtime, Worker } from '@temporalio/worker';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPlugin, startRun, type LonghaulPluginFromEnv } from 'longhaul';
import { auditGroundTruth, auditReport, auditTask, writeAuditWorkspace } from '../simulator/scenarios/audit.js';
import { userActivities } from './fixtures/user-activities.js';
import { useHarness } from './helpers/harness.js';
import { TEST_WORKER_ENV } from './helpers/test-worker.js';

const userWorkflowsPath = fileURLToPath(new URL('./fixtures/user-workflows.ts', import.meta.url));

describe("LonghaulPlugin in a user's own worker, beside the user's own workflow and activity", () => {
  const h = useHarness();
  let longhaul: LonghaulPluginFromEnv;
  let worker: Worker;
  let running: Promise<void>;

  beforeAll(async () => {
    longhaul = await createPlugin({
      env: { LONGHAUL_STORE_DIR: h.storeDir, ANTHROPIC_BASE_URL: h.simulator.url, ...TEST_WORKER_ENV },
    });
    // The user's worker: their connection, queue, workflows and activities; longhaul comes in as a plugin.
    worker = await Worker.create({
      connection: h.env.nativeConnection,
      taskQueue: h.taskQueue,
      workflowsPath: userWorkflowsPath,
      activities: userActivities,
      plugins: [longhaul.plugin],
    });
    running = worker.run();
  });
  afterAll(async () => {
    worker?.shutdown();
    await running;
    await longhaul?.close();
  });

  it('runs a longhaul run and the user workflow side by side on one task queue, each with its own activities', async () => {
    const workspace = join(h.dir, 'audit');
    await writeAuditWorkspace(workspace, 4);
    const run = await startRun(
      h.env.client,
      { task: auditTask(4), workspace, maxTurns: 30, toolPolicies: { write_file: 'allow' } },
      { taskQueue: h.taskQueue },
    );
    const greeting = await h.env.client.workflow.start('greet', {
      taskQueue: h.taskQueue,
      workflowId: `greet-${Date.now()}`,
      args: ['plugin'],
    });

    const [result, greeted] = await Promise.all([run.result(), greeting.result()]);
    expect(result.status).toBe('completed');
    expect(result.report).toBe(auditReport(4, auditGroundTruth(4)));
    expect(greeted).toBe("HELLO PLUGIN! (greeted by the user's workflow)");

    // Both ran on the one worker: the plugin's identity, which reclaiming tells its own work by.
    const ranOn = async (handle: Pick<typeof greeting, 'fetchHistory'>) =>
      new Set(
        ((await handle.fetchHistory()).events ?? [])
          .map((e) => e.workflowTaskCompletedEventAttributes?.identity)
          .filter(Boolean),
      );
    expect(worker.options.identity).toMatch(/^\d+@\S+ \w{8} boot=[0-9a-f-]{36} pidns=\d+$/);
    expect(await ranOn(run)).toEqual(new Set([worker.options.identity]));
    expect(await ranOn(greeting)).toEqual(new Set([worker.options.identity]));

    // A bundle built beforehand with the plugin holds both workflows too: both histories replay on it.
    const { code } = await bundleWorkflowCode({
      workflowsPath: userWorkflowsPath,
      plugins: [longhaul.plugin],
      logger: Runtime.instance().logger,
    });
    const histories = await Promise.all(
      [run, greeting].map(async (handle) => ({ workflowId: handle.workflowId, history: await handle.fetchHistory() })),
    );
    const replays = [];
    for await (const replay of Worker.runReplayHistories(
      { workflowBundle: { code }, plugins: [longhaul.plugin] },
      histories,
    ))
      replays.push(replay);
    expect(replays.map((r) => [r.workflowId, r.error])).toEqual(histories.map((x) => [x.workflowId, undefined]));
  });

  it("refuses a worker activity named like one of longhaul's, rather than replacing it", async () => {
    await expect(
      Worker.create({
        connection: h.env.nativeConnection,
        taskQueue: h.taskQueue,
        activities: { runTool: async () => 'mine' },
        plugins: [longhaul.plugin],
      }),
    ).rejects.toThrow("longhaul's activities are named runTool: rename the worker's own");
  });
});
