import type { BetaContentBlockParam, BetaMessageParam } from '@anthropic-ai/sdk/resources/beta/messages/messages';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { runToolCall } from '../../activities/run-tool.js';
import { DEFAULT_MODEL } from '../../common/models.js';
import { renderSystemPrompt } from '../../common/prompt-format.js';
import { applyStateUpdate, initialState, StateUpdate, type AgentState } from '../../common/state.js';
import { codingTask, writeCodingWorkspace } from '../../simulator/scenarios/coding.js';
import { DirectoryStore } from '../../store/directory-store.js';
import type { ToolOutput } from '../../tools/define.js';
import { codingTools } from '../../tools/coding/index.js';
import { assembleToolset } from '../../tools/toolset.js';
import { workspaceTools } from '../../tools/workspace-tools.js';
import { useSdkSimulator } from '../helpers/sdk-simulator.js';

/**
 * The coding scenario through the real SDK, with the real workspace and coding tools run by a
 * minimal loop (no Temporal, no policies): what the scripted model does with each tool result.
 */
const t = useSdkSimulator();
const sh = promisify(execFile);

interface Call {
  name: string;
  input: Record<string, unknown>;
}
interface CodingRun {
  report: string;
  state: AgentState;
  calls: Call[];
  workspace: string;
}
/** Answers a call instead of its tool, or undefined to run the tool. */
type Override = (call: Call, workspace: string) => Promise<ToolOutput | undefined> | ToolOutput | undefined;

async function runCoding(
  opts: { task?: string; tools?: 'coding' | 'workspace'; override?: Override } = {},
): Promise<CodingRun> {
  const { task = codingTask({ reviewCommand: 'git diff' }), tools = 'coding', override = () => undefined } = opts;
  const workspace = await mkdtemp(join(tmpdir(), 'sim-coding-'));
  t.scratch.push(workspace);
  await writeCodingWorkspace(workspace);
  const toolset = assembleToolset('test', [
    ...workspaceTools,
    ...(tools === 'coding' ? codingTools({ commandAllow: ['git diff'], sandbox: 'off' }) : []),
  ]);
  const storeDir = await mkdtemp(join(tmpdir(), 'sim-coding-store-'));
  t.scratch.push(storeDir);
  const store = new DirectoryStore(storeDir);
  let state = initialState();
  const calls: Call[] = [];
  const messages: BetaMessageParam[] = [{ role: 'user', content: 'Start the task.' }];

  for (let turn = 1; turn <= 20; turn++) {
    const response = await t.client.beta.messages.create({
      model: DEFAULT_MODEL,
      max_tokens: 4096,
      system: renderSystemPrompt('You are a careful coding agent.', task, state),
      tools: toolset.schemas,
      messages,
    });
    messages.push({ role: 'assistant', content: response.content as BetaContentBlockParam[] });
    const results: BetaContentBlockParam[] = [];
    for (const [position, block] of response.content.entries()) {
      if (block.type !== 'tool_use') continue;
      const call = { name: block.name, input: block.input as Record<string, unknown> };
      calls.push(call);
      if (call.name === 'finish') return { report: call.input.report as string, state, calls, workspace };
      let output: ToolOutput;
      if (call.name === 'update_state') {
        state = applyStateUpdate(state, StateUpdate.parse(call.input));
        output = { content: 'state updated' };
      } else {
        output =
          (await override(call, workspace)) ??
          (await runToolCall(toolset.registry, store, {
            workflowId: 'coding-unit',
            chainId: 'chain',
            turn,
            position,
            workspace,
            call: { id: block.id, ...call },
          }));
      }
      results.push({ type: 'tool_result', tool_use_id: block.id, content: output.content, is_error: !!output.isError });
    }
    messages.push({ role: 'user', content: results });
  }
  throw new Error('the coding run did not finish');
}

const testsPass = (workspace: string) =>
  sh('node', ['--test'], { cwd: workspace }).then(
    () => true,
    () => false,
  );
const names = (run: CodingRun) =>
  run.calls.map((c) => (c.name === 'run_command' ? `$ ${String(c.input.command)}` : c.name));

describe('the coding scenario', () => {
  it('greps, reads, fixes the line it read, runs the test, reviews the diff and reports the fix and the pass', async () => {
    const run = await runCoding();
    expect(names(run)).toEqual([
      'grep',
      'read_file',
      'edit_file',
      '$ node --test',
      '$ git diff',
      'update_state',
      'finish',
    ]);
    expect(run.calls[2]!.input).toEqual({
      path: 'src/math.js',
      old_string: '  return sum(values) / (values.length - 1);',
      new_string: '  return sum(values) / values.length;',
    });
    expect(run.report).toBe(
      'Fixed mean in src/math.js: it divided the sum by values.length - 1; it now divides by values.length. ' +
        'The test command `node --test` passed (exit code 0, 2 tests passed). ' +
        '`git diff` shows the change: +  return sum(values) / values.length;',
    );
    expect(run.state.itemsDone).toEqual(['src/math.js']);
    expect(await testsPass(run.workspace)).toBe(true);
  });

  it('the repository it writes fails its test until the fix', async () => {
    const workspace = await mkdtemp(join(tmpdir(), 'sim-coding-'));
    t.scratch.push(workspace);
    await writeCodingWorkspace(workspace);
    expect(await testsPass(workspace)).toBe(false);
    expect((await sh('git', ['status', '--porcelain'], { cwd: workspace })).stdout).toBe('');
  });

  it('without a review command it finishes after the test passes', async () => {
    const run = await runCoding({ task: codingTask() });
    expect(names(run)).toEqual(['grep', 'read_file', 'edit_file', '$ node --test', 'update_state', 'finish']);
    expect(run.report).toMatch(/passed \(exit code 0, 2 tests passed\)\.$/);
  });

  it('a declined test command ends the run with a report that says the fix is untested', async () => {
    const run = await runCoding({
      override: (call) =>
        call.input.command === 'node --test'
          ? { content: 'A person declined this run_command call: not on this machine', isError: true }
          : undefined,
    });
    expect(names(run)).toEqual(['grep', 'read_file', 'edit_file', '$ node --test', 'finish']);
    expect(run.report).toBe(
      'Fixed mean in src/math.js: it divided the sum by values.length - 1; it now divides by values.length. ' +
        'I have no result from the test command `node --test`: A person declined this run_command call: not on this machine',
    );
  });

  it('a test still failing after the edit is reported with its exit code and recorded as an error', async () => {
    const run = await runCoding({
      override: async (call, workspace) => {
        // Another failing test the fix does not cover, added before the tests run.
        if (call.name === 'edit_file')
          await writeFile(
            join(workspace, 'test/extra.test.js'),
            "import assert from 'node:assert/strict';\nimport { test } from 'node:test';\ntest('extra', () => assert.equal(1, 2));\n",
          );
        return undefined;
      },
    });
    expect(names(run)).toEqual(['grep', 'read_file', 'edit_file', '$ node --test', 'update_state', 'finish']);
    expect(run.report).toMatch(
      /^Fixed mean in src\/math\.js: .* The test command `node --test` still fails \(exit code 1\):\n/,
    );
    expect(run.state.errors).toEqual(['node --test exits with 1 after the fix of src/math.js']);
  });

  it('an edit that finds no match (the file changed after it was read) ends the run before any command', async () => {
    const run = await runCoding({
      override: async (call, workspace) => {
        if (call.name === 'read_file') {
          // What the model read, then a change under it: its old_string no longer matches.
          const read = { content: await readFile(join(workspace, 'src/math.js'), 'utf8') };
          await writeFile(join(workspace, 'src/math.js'), 'export const mean = (v) => v.length;\n');
          return read;
        }
        return undefined;
      },
    });
    expect(names(run)).toEqual(['grep', 'read_file', 'edit_file', 'finish']);
    expect(run.report).toMatch(/^The edit of src\/math\.js failed, so nothing is fixed: /);
  });

  it('a fix already in place is tested, not edited again', async () => {
    const run = await runCoding({
      override: async (call, workspace) => {
        if (call.name === 'grep') {
          // Fixed by someone else before the model reads the file.
          const file = join(workspace, 'src/math.js');
          await writeFile(file, (await readFile(file, 'utf8')).replace('(values.length - 1)', 'values.length'));
        }
        return undefined;
      },
    });
    expect(names(run)).toEqual(['grep', 'read_file', '$ node --test', '$ git diff', 'update_state', 'finish']);
    expect(run.report).toMatch(/^mean in src\/math\.js already divides by values\.length\. The test command/);
  });

  it('says what is missing: the coding tools, or the test command', async () => {
    expect((await runCoding({ tools: 'workspace' })).report).toBe(
      'I cannot do this coding task without the tools grep, edit_file, run_command.',
    );
    const untested = await runCoding({ task: 'Coding task: make the failing test pass.\nFix it.' });
    expect(untested.report).toBe('The coding task names no test command (a line `Test command: …`).');
    expect(names(untested)).toEqual(['finish']);
  });
});
