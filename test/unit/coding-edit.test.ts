import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runToolCall } from '../../activities/run-tool.js';
import { DirectoryStore } from '../../store/directory-store.js';
import { codingTools } from '../../tools/coding/index.js';
import { editDiff } from '../../tools/coding/edit-diff.js';
import { planEdit } from '../../tools/coding/edit-file.js';

const tools = new Map(codingTools({ sandbox: 'off' }).map((t) => [t.name, t]));
const editFile = tools.get('edit_file')!;
let root: string;
let workspace: string;
let store: DirectoryStore;
let seq = 0;
const edit = (input: unknown) =>
  runToolCall(tools, store, {
    workflowId: 'wf',
    turn: 1,
    workspace,
    call: { id: `toolu_${++seq}`, name: 'edit_file', input },
  });

const SOURCE = 'export function add(a, b) {\n  return a - b;\n}\n\nexport const one = 1;\nexport const two = 1;\n';

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'longhaul-edit-'));
  workspace = join(root, 'ws');
  await mkdir(join(workspace, 'src'), { recursive: true });
  store = new DirectoryStore(join(root, 'store'));
});
afterAll(() => rm(root, { recursive: true, force: true }));

describe('edit_file', () => {
  it('replaces one exact, unique string and shows the diff', async () => {
    await writeFile(join(workspace, 'src/math.js'), SOURCE);
    const out = await edit({ path: 'src/math.js', old_string: 'return a - b;', new_string: 'return a + b;' });
    expect(out.isError).toBeUndefined();
    expect(out.content).toBe(
      [
        'edited src/math.js: 1 replacement',
        '--- a/src/math.js',
        '+++ b/src/math.js',
        '@@ -1,5 +1,5 @@',
        ' export function add(a, b) {',
        '-  return a - b;',
        '+  return a + b;',
        ' }',
        ' ',
        ' export const one = 1;',
      ].join('\n'),
    );
    expect(await readFile(join(workspace, 'src/math.js'), 'utf8')).toBe(SOURCE.replace('a - b', 'a + b'));
  });

  it('keeps the mode of the file it edits: a script stays executable', async () => {
    await writeFile(join(workspace, 'run.sh'), '#!/bin/sh\necho old\n', { mode: 0o750 });
    await chmod(join(workspace, 'run.sh'), 0o750);
    expect((await edit({ path: 'run.sh', old_string: 'old', new_string: 'new' })).isError).toBeUndefined();
    expect((await stat(join(workspace, 'run.sh'))).mode & 0o777).toBe(0o750);
  });

  it.each([
    ['no match', { old_string: 'return a * b;', new_string: 'x' }, 'old_string was not found in src/same.js'],
    ['an ambiguous match', { old_string: '= 1;', new_string: '= 2;' }, 'old_string occurs 2 times in src/same.js'],
    ['no change', { old_string: '= 1;', new_string: '= 1;' }, 'old_string and new_string are the same'],
  ])('refuses %s as a tool error naming the reason, leaving the file unchanged', async (_, input, reason) => {
    await writeFile(join(workspace, 'src/same.js'), SOURCE);
    const out = await edit({ path: 'src/same.js', ...input });
    expect(out.isError).toBe(true);
    expect(out.content).toContain(reason);
    expect(await readFile(join(workspace, 'src/same.js'), 'utf8')).toBe(SOURCE);
  });

  it('hints replace_all on an ambiguous match, and replaces every occurrence with it', async () => {
    await writeFile(join(workspace, 'src/all.js'), SOURCE);
    const ambiguous = await edit({ path: 'src/all.js', old_string: '= 1;', new_string: '= 2;' });
    expect(ambiguous.content).toContain('set replace_all');
    const out = await edit({ path: 'src/all.js', old_string: '= 1;', new_string: '= 2;', replace_all: true });
    expect(out.content).toContain('edited src/all.js: 2 replacements');
    expect(out.content).toContain(
      '-export const one = 1;\n-export const two = 1;\n+export const one = 2;\n+export const two = 2;',
    );
    expect(await readFile(join(workspace, 'src/all.js'), 'utf8')).toBe(SOURCE.replaceAll('= 1;', '= 2;'));
  });

  it('refuses paths outside the workspace and write-protected ones, through the workspace tools', async () => {
    expect(await edit({ path: '../outside.js', old_string: 'a', new_string: 'b' })).toMatchObject({
      isError: true,
      content: expect.stringContaining('leaves the workspace'),
    });
    await mkdir(join(workspace, '.git'), { recursive: true });
    await writeFile(join(workspace, '.git/config'), '[core]\n');
    const out = await edit({ path: '.git/config', old_string: '[core]', new_string: '[core]\n\tfsmonitor = evil' });
    expect(out).toMatchObject({ isError: true, content: expect.stringContaining('write-protected') });
    expect(await readFile(join(workspace, '.git/config'), 'utf8')).toBe('[core]\n');
  });

  it('after an interrupted attempt, reports the edit done only when the file holds it', async () => {
    const ctx = { workspace, idempotencyKey: 'k' };
    const input = editFile.input.parse({ path: 'src/check.js', old_string: 'a - b', new_string: 'a + b' });
    await writeFile(join(workspace, 'src/check.js'), SOURCE);
    expect(await editFile.checkEffect!(input, ctx)).toBeUndefined();
    await writeFile(join(workspace, 'src/check.js'), SOURCE.replace('a - b', 'a + b'));
    expect(await editFile.checkEffect!(input, ctx)).toMatchObject({
      content: expect.stringContaining('edited src/check.js'),
    });
  });

  it('shows a person the diff it would make, or why it would fail', async () => {
    await writeFile(join(workspace, 'src/ask.js'), SOURCE);
    const detail = (input: object) =>
      editFile.approvalDetail!(editFile.input.parse({ path: 'src/ask.js', ...input }), { workspace });
    expect(await detail({ old_string: 'a - b', new_string: 'a + b' })).toContain('-  return a - b;\n+  return a + b;');
    expect(await detail({ old_string: 'nope', new_string: 'x' })).toContain(
      'edit_file would fail: old_string was not found',
    );
    expect(editFile.policy).toBe('approve');
  });
});

describe('the diff of an edit', () => {
  const diffOf = (text: string, old: string, replacement: string, all = false, max = 10_000) => {
    const planned = planEdit('f', text, { old_string: old, new_string: replacement, replace_all: all });
    if (!planned.ok) throw new Error(planned.error);
    return editDiff('f', text, planned.offsets, old, replacement, max).split('\n').slice(2).join('\n');
  };

  it('numbers hunks as diff -u does, joining changes whose context meets', () => {
    const text = Array.from({ length: 20 }, (_, i) => `line ${i + 1}`).join('\n') + '\n';
    expect(diffOf(text, 'line 2\n', '')).toBe('@@ -1,5 +1,4 @@\n line 1\n-line 2\n line 3\n line 4\n line 5');
    expect(diffOf(text, 'line 20\n', 'line 20\nline 21\n')).toBe(
      '@@ -18,3 +18,4 @@\n line 18\n line 19\n line 20\n+line 21',
    );
    const apart = diffOf(text.replace('line 3\n', 'x\n').replace('line 18\n', 'x\n'), 'x', 'y', true);
    expect(apart.match(/^@@/gm)).toHaveLength(2);
    expect(apart).toContain('@@ -15,6 +15,6 @@\n line 15\n line 16\n line 17\n-x\n+y\n line 19\n line 20');
    const near = diffOf(text.replace('line 3\n', 'x\n').replace('line 9\n', 'x\n'), 'x', 'y', true);
    expect(near.match(/^@@/gm)).toHaveLength(1);
  });

  it('keeps two occurrences on one line as one change', () => {
    expect(diffOf('a = a + 1;\n', 'a', 'b', true)).toBe('@@ -1,1 +1,1 @@\n-a = a + 1;\n+b = b + 1;');
  });

  it('is cut at its bound with a note', () => {
    const text = Array.from({ length: 500 }, (_, i) => `x${i}`).join('\n');
    const diff = diffOf(text, 'x', 'y', true, 300);
    expect(diff.length).toBeLessThan(300);
    expect(diff).toMatch(/\[diff cut: \d+ more characters\]$/);
  });
});
