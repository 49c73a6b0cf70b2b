import { WorkflowFailedError } from '@temporalio/client';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { wordCounter } from '../examples/word-count/agent.js';
import {
  createWorker,
  defineAgent,
  defineTool,
  progressQuery,
  RunOptionsError,
  startRun,
  type LonghaulWorker,
} from 'longhaul';
import { withAgentDefaults } from '../common/options.js';
import { z } from 'zod';
import { useHarness } from './helpers/harness.js';
import { TEST_WORKER_ENV } from './helpers/test-worker.js';

describe('defineAgent', () => {
  const noop = defineTool({
    name: 'noop',
    description: 'does nothing',
    input: z.object({}),
    sideEffectFree: true,
    run: async () => ({ content: '' }),
  });

  it('refuses a bad profile where it is written, on one line naming what is wrong', () => {
    const bad = (profile: object) => () => defineAgent({ name: 'a', systemPrompt: 'p', tools: [], ...profile });
    expect(bad({ name: 'no spaces' })).toThrow(/^agent name "no spaces": use letters/);
    expect(bad({ tools: [{ ...noop, name: 'finish' }] })).toThrow(
      'agent a: tool name finish is reserved for a state tool',
    );
    expect(bad({ tools: [noop, noop] })).toThrow('agent a: two tools are named noop');
    expect(bad({ compaction: { trigger: 1_000 } })).toThrow(
      /^agent a: compaction\.trigger: compaction trigger must be at least 50000/,
    );
    expect(bad({ maxTurns: 0 })).toThrow(/^agent a: maxTurns:/);
    expect(bad({ state: { 'Open Items': z.string() } })).toThrow(
      'agent a: state list "Open Items": use lower-case letters, digits and _ (at most 40)',
    );
    expect(bad({ state: { findings: z.string() } })).toThrow(
      'agent a: state list findings is a built-in part of the state',
    );
  });

  it("a run's options win over its agent's defaults, option groups merge field by field, and tool policies only narrow", () => {
    const merged = withAgentDefaults(
      {
        maxTurns: 40,
        compaction: { trigger: 60_000, instructions: 'keep names' },
        toolPolicies: { write_file: 'deny', x: 'approve', y: 'allow' },
      },
      { task: 't', workspace: '.', compaction: { trigger: 80_000 }, toolPolicies: { x: 'allow', y: 'deny' } },
    );
    expect(merged).toEqual({
      task: 't',
      workspace: '.',
      maxTurns: 40,
      compaction: { trigger: 80_000, instructions: 'keep names' },
      // x: the run's allow is wider than the agent's approve, so the agent's holds (admission refuses such a run).
      toolPolicies: { write_file: 'deny', x: 'approve', y: 'deny' },
    });
  });
});

describe('a worker from the library API, with the example agent', () => {
  const h = useHarness();
  let lib: LonghaulWorker;
  let running: Promise<void>;
  let workspace: string;
  const env = () => ({
    TEMPORAL_ADDRESS: h.env.address,
    LONGHAUL_TASK_QUEUE: h.taskQueue,
    LONGHAUL_STORE_DIR: h.storeDir,
    ANTHROPIC_BASE_URL: h.simulator.url,
    ...TEST_WORKER_ENV,
    ...(process.env.LONGHAUL_WORKFLOW_BUNDLE ? { LONGHAUL_WORKFLOW_BUNDLE: process.env.LONGHAUL_WORKFLOW_BUNDLE } : {}),
  });

  beforeAll(async () => {
    workspace = join(h.dir, 'ws');
    await mkdir(workspace, { recursive: true });
    await writeFile(join(workspace, 'notes.txt'), 'the quick brown fox\njumps over\n\nthe lazy dog\n');
    lib = await createWorker({ agents: [wordCounter], env: env() });
    running = lib.run();
  });
  afterAll(async () => {
    lib?.shutdown();
    await running;
  });

  it("runs the agent's own tool on the worker, with the agent's prompt, tools and defaults", async () => {
    const handle = await startRun(
      h.env.client,
      { agent: 'word-counter', task: '[sim:call count_words] {"path":"notes.txt"}', workspace },
      { taskQueue: h.taskQueue },
    );
    const result = await handle.result();
    expect(result.status).toBe('completed');
    // The count is the custom handler's: 9 words in notes.txt.
    expect(result.report).toContain('count_words said: notes.txt has 9 words');
    // The model was offered the agent's tools (its own, the built-in ones, the state tools) and its prompt.
    expect(result.report).toMatch(
      /offered: list_files, read_file, write_file, count_words, update_state, escalate_to_human, finish \|/,
    );
    expect(result.report).toContain('instructions: You are a word-counting agent.');
    const progress = await handle.query(progressQuery);
    expect(progress.maxTurns).toBe(40);
  });

  it("the agent's own state list takes checked items through update_state, and a bad item is a tool error", async () => {
    const run = async (input: object) => {
      const handle = await startRun(
        h.env.client,
        { agent: 'word-counter', task: `[sim:call update_state] ${JSON.stringify(input)}`, workspace },
        { taskQueue: h.taskQueue },
      );
      return handle.result();
    };
    const ok = await run({ mark_done: ['notes.txt'], add_counts: [{ path: 'notes.txt', words: 9 }] });
    expect(ok.report).toContain('update_state said: state updated: 1 items done, 0 findings, 1 counts');
    expect(ok.state.lists).toEqual({ counts: [{ path: 'notes.txt', words: 9 }] });

    const bad = await run({ add_counts: [{ path: 'notes.txt', words: 'nine' }] });
    expect(bad.status).toBe('completed');
    expect(bad.report).toMatch(/update_state failed: invalid update_state input: add_counts\.0\.words: .*number/);
    expect(bad.state).not.toHaveProperty('lists');
  });

  it("the agent's tool policy applies, and a run's own options override its other defaults", async () => {
    const handle = await startRun(
      h.env.client,
      { agent: 'word-counter', task: '[sim:call write_file] {"path":"x.txt","content":"x"}', workspace, maxTurns: 7 },
      { taskQueue: h.taskQueue },
    );
    const result = await handle.result();
    expect(result.report).toContain('write_file failed: write_file is not allowed in this run');
    expect((await handle.query(progressQuery)).maxTurns).toBe(7);
  });

  it('a run naming an agent no worker serves fails at once, naming the agents there are', async () => {
    const handle = await startRun(
      h.env.client,
      { agent: 'nobody', task: 'count', workspace },
      { taskQueue: h.taskQueue },
    );
    const failure = await handle.result().catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    expect((failure as WorkflowFailedError).cause?.message).toBe(
      'invalid run options: unknown agent "nobody"; this worker serves: word-counter',
    );
  });

  it('bad options are refused before anything is submitted', async () => {
    const id = `refused-${Date.now()}`;
    await expect(
      startRun(
        h.env.client,
        { agent: 'word counter', task: 'x', workspace },
        { taskQueue: h.taskQueue, workflowId: id },
      ),
    ).rejects.toThrow(RunOptionsError);
    await expect(h.env.client.workflow.getHandle(id).describe()).rejects.toThrow(/not found/i);
  });
});
