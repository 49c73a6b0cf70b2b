import Anthropic from '@anthropic-ai/sdk';
import { MockActivityEnvironment } from '@temporalio/testing';
import { mkdir, mkdtemp, readFile, realpath, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities/index.js';
import type { PendingBlock, ToolRunInput } from '../../common/contracts.js';
import { DirectoryStore } from '../../store/directory-store.js';
import { defineAgent } from '../../agents/define.js';
import { deploys, deployTool } from '../helpers/deploy-tool.js';

/** The worker's own checks in runTool and admitRun, whatever the workflow (or a hand-made input) says. */
describe("the worker's checks at every tool call and at a run's start", () => {
  let base: string;
  let root: string;
  let activities: ReturnType<typeof createActivities>;
  let store: DirectoryStore;
  beforeAll(async () => {
    base = await realpath(await mkdtemp(join(tmpdir(), 'longhaul-checks-')));
    root = join(base, 'root');
    await mkdir(join(root, 'ws'), { recursive: true });
    await mkdir(join(base, 'outside'));
    await symlink(join(base, 'outside'), join(root, 'escape'));
    store = new DirectoryStore(join(base, 'store'));
    activities = createActivities({
      anthropic: new Anthropic({ apiKey: 'unused' }),
      store,
      workspaceRoots: [root],
      toolPolicies: { list_files: 'deny' },
      agents: [defineAgent({ name: 'ops', systemPrompt: 'Deploy.', tools: [deployTool] })],
    });
  });
  afterAll(() => rm(base, { recursive: true, force: true }));

  let seq = 0;
  const runTool = (name: string, input: unknown, over: Partial<ToolRunInput> = {}) =>
    new MockActivityEnvironment().run<[ToolRunInput], PendingBlock, typeof activities.runTool>(activities.runTool, {
      workflowId: 'wf',
      turn: 1,
      workspace: 'ws',
      call: { id: `toolu_${++seq}`, name, input },
      ...over,
    });
  const text = (b: PendingBlock) => ('content' in b ? b.content : '');
  const isError = (b: PendingBlock) => b.type === 'tool_result' && b.is_error === true;

  it("a tool whose ceiling is deny is refused, and one whose ceiling is approve runs only with a person's approval", async () => {
    expect(await runTool('list_files', {})).toMatchObject({
      is_error: true,
      content: 'list_files is not allowed on this worker',
    });
    const unapproved = await runTool('write_file', { path: 'a.txt', content: 'x' });
    expect(unapproved).toMatchObject({
      is_error: true,
      content: "write_file needs a person's approval on this worker, and this call has none",
    });
    await expect(readFile(join(root, 'ws', 'a.txt'), 'utf8')).rejects.toThrow(/ENOENT/);
    const approved = await runTool('write_file', { path: 'a.txt', content: 'x' }, { approvedBy: 'esc-1' });
    expect(isError(approved)).toBe(false);
    expect(await readFile(join(root, 'ws', 'a.txt'), 'utf8')).toBe('x');
  });

  it("under an approve ceiling, an unapproved call runs only if the tool's needsApproval, asked again, says no", async () => {
    // deploy's own policy (approve, for a tool with needsApproval) is agent ops's ceiling.
    const ops = { agent: 'ops', workspace: 'ws' };
    expect(await runTool('deploy', { target: 'prod', version: '1' }, ops)).toMatchObject({
      is_error: true,
      content: "deploy needs a person's approval for agent ops, and this call has none",
    });
    expect(await deploys(join(root, 'ws'))).toEqual([]);
    expect(await runTool('deploy', { target: 'staging', version: '2' }, ops)).toMatchObject({
      content: 'deployed 2 to staging',
    });
    // An input the model call stored by reference is read back before the tool is asked.
    const stored = await store.put(JSON.stringify({ target: 'staging', version: '3' }));
    const byRef = { ...ops, call: { id: 'toolu_ref', name: 'deploy', input: {}, inputRef: stored } };
    expect(await runTool('deploy', {}, byRef)).toMatchObject({ content: 'deployed 3 to staging' });
    expect(await runTool('deploy', { target: 'prod', version: '4' }, { ...ops, approvedBy: 'esc-1' })).toMatchObject({
      content: 'deployed 4 to prod',
    });
    expect(await deploys(join(root, 'ws'))).toEqual(['2 staging', '3 staging', '4 prod']);
  });

  it('the workspace is resolved again at each call: outside the roots is a tool error; the tool gets the real path', async () => {
    for (const workspace of ['escape', join(base, 'outside'), '/proc/self', '..']) {
      const block = await runTool('read_file', { path: 'environ' }, { workspace });
      expect(isError(block), workspace).toBe(true);
      expect(text(block)).toMatch(new RegExp(`^workspace ${JSON.stringify(workspace).replace(/[.]/g, '\\.')} `));
    }
    expect(text(await runTool('read_file', { path: 'a.txt' }, { workspace: join(root, 'ws') }))).toBe('x');
  });

  it('admitRun refuses a workspace outside the roots and widened policies; it returns the real path', async () => {
    const admit = (options: object) =>
      new MockActivityEnvironment().run(activities.admitRun, { task: 't', ...options } as never).then(
        (o) => o,
        (err: Error) => err.message,
      );
    expect(await admit({ workspace: 'escape' })).toMatch(
      /^workspace "escape" is outside this worker's workspace roots/,
    );
    expect(await admit({ workspace: 'ws', toolPolicies: { list_files: 'approve' } })).toMatch(
      /^toolPolicies\.list_files: approve is wider than this worker allows \(deny\)/,
    );
    // A sub-agent's workspace must lead inside its parent's, links followed.
    await mkdir(join(root, 'other'), { recursive: true });
    await symlink(join(root, 'other'), join(root, 'ws', 'sideways'));
    const child = (workspace: string) =>
      new MockActivityEnvironment()
        .run(activities.admitRun, { task: 't', workspace } as never, { child: true, within: join(root, 'ws') })
        .then(
          (o) => o,
          (err: Error) => err.message,
        );
    expect(await child(join(root, 'ws'))).toMatchObject({ workspace: join(root, 'ws') });
    expect(await child(join(root, 'ws', 'sideways'))).toBe(
      `workspace "${join(root, 'ws', 'sideways')}" leads outside the parent's workspace, after following symlinks`,
    );
    expect(await admit({ workspace: 'ws' })).toMatchObject({
      workspace: join(root, 'ws'),
      toolPolicies: { list_files: 'deny', read_file: 'allow', write_file: 'approve' },
    });
  });

  it("storeResult keeps a small result inline and stores a sub-agent's large report whole, never previewed", async () => {
    const env = new MockActivityEnvironment();
    expect(await env.run(activities.storeResult, { toolUseId: 'toolu_s', content: 'short' })).toEqual({
      type: 'tool_result',
      tool_use_id: 'toolu_s',
      content: 'short',
    });
    const report = 'finding\n'.repeat(10_000);
    const block = await env.run(activities.storeResult, { toolUseId: 'toolu_l', content: report, isError: true });
    expect(block).toMatchObject({
      tool_use_id: 'toolu_l',
      is_error: true,
      contentRef: expect.stringMatching(/^sha256:/),
    });
    expect(await store.get((block as { contentRef: `sha256:${string}` }).contentRef)).toBe(report);
  });
});
