import { mkdir, mkdtemp, readFile, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { DirectoryStore } from '../store/directory-store.js';
import { runToolCall } from '../activities/run-tool.js';
import { workspaceTools } from '../tools/workspace-tools.js';

const tools = new Map(workspaceTools.map((t) => [t.name, t]));
let root: string;
let workspace: string;
let store: DirectoryStore;
let seq = 0;
const call = (name: string, input: unknown) =>
  runToolCall(tools, store, { workflowId: 'wf', turn: 1, workspace, call: { id: `toolu_${++seq}`, name, input } });

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'longhaul-ws-'));
  workspace = join(root, 'ws');
  await mkdir(join(workspace, 'src'), { recursive: true });
  await writeFile(join(workspace, 'src/a.txt'), 'hello');
  await writeFile(join(root, 'outside.txt'), 'secret');
  await symlink(join(root, 'outside.txt'), join(workspace, 'link-out'));
  await symlink(root, join(workspace, 'dir-out'));
  await symlink(join(workspace, 'src/a.txt'), join(workspace, 'link-in'));
  await writeFile(join(workspace, 'latin1.txt'), Buffer.from([0x63, 0x61, 0x66, 0xe9]));
  store = new DirectoryStore(join(root, 'store'));
});

describe('workspace tools', () => {
  it('read, list and write inside the workspace', async () => {
    expect(await call('read_file', { path: 'src/a.txt' })).toEqual({ content: 'hello' });
    expect(await call('read_file', { path: 'link-in' })).toEqual({ content: 'hello' });
    expect((await call('list_files', {})).content).toContain('src/');
    expect((await call('write_file', { path: 'out/new.txt', content: 'x' })).isError).toBeUndefined();
    expect(await readFile(join(workspace, 'out/new.txt'), 'utf8')).toBe('x');
  });

  it.each([
    ['..', '../outside.txt', 'leaves the workspace'],
    ['.. in the middle', 'src/../../outside.txt', 'leaves the workspace'],
    ['absolute', '/etc/passwd', 'is absolute'],
    ['symlinked file', 'link-out', 'outside the workspace through a symlink'],
    ['symlinked dir', 'dir-out/outside.txt', 'outside the workspace through a symlink'],
  ])('refuses a path escape (%s) as a tool error', async (_, path, message) => {
    const read = await call('read_file', { path });
    expect(read.isError).toBe(true);
    expect(read.content).toContain(message);
    const write = await call('write_file', { path, content: 'pwned' });
    expect(write.isError).toBe(true);
    expect(await readFile(join(root, 'outside.txt'), 'utf8')).toBe('secret');
  });

  it('turns schema violations, unknown tools and non-UTF-8 files into tool errors', async () => {
    expect(await call('read_file', { file: 'a' })).toMatchObject({
      isError: true,
      content: expect.stringContaining('invalid input for read_file'),
    });
    expect(await call('rm_rf', {})).toMatchObject({
      isError: true,
      content: expect.stringContaining('unknown tool "rm_rf"'),
    });
    expect(await call('read_file', { path: 'latin1.txt' })).toEqual({
      content: 'latin1.txt is not valid UTF-8 text',
      isError: true,
    });
  });

  it('acts once per idempotency key: a retried side-effecting call returns the recorded result', async () => {
    const input = {
      workflowId: 'wf',
      turn: 7,
      workspace,
      call: { id: 'toolu_same', name: 'write_file', input: { path: 'once.txt', content: 'first' } },
    };
    const first = await runToolCall(tools, store, input);
    await writeFile(join(workspace, 'once.txt'), 'changed by someone else');
    const retried = await runToolCall(tools, store, input);
    expect(retried).toEqual(first);
    expect(await readFile(join(workspace, 'once.txt'), 'utf8')).toBe('changed by someone else');
    const journal = await readFile(join(root, 'store/effects.log'), 'utf8');
    expect(journal.split('\n').filter((l) => l.startsWith('wf/7/toolu_same '))).toHaveLength(1);
  });
});
