import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runToolCall } from '../../activities/run-tool.js';
import { DirectoryStore } from '../../store/directory-store.js';
import { codingTools } from '../../tools/coding/index.js';
import { ripgrepAvailable } from '../../tools/coding/search-ripgrep.js';
import { MAX_SEARCH_OUTPUT_CHARS } from '../../tools/coding/search-tools.js';

let root: string;
let workspace: string;
let store: DirectoryStore;
let seq = 0;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'longhaul-search-'));
  workspace = join(root, 'ws');
  const files: Record<string, string | Buffer> = {
    'a.txt': 'alpha\n',
    'a/b.txt': 'alpha beta\n',
    'crlf.txt': 'alpha\r\nomega\r\n',
    'src/x.ts': 'const Alpha = 1;\nconst beta = 2;\n',
    'src/deep/y.ts': 'alpha\n',
    '.hidden/h.ts': 'alpha\n',
    'node_modules/m/z.ts': 'alpha\n',
    '.git/config': 'alpha\n',
    'bin.dat': Buffer.from('alpha\0\n'),
    'big.txt': `alpha\n${'x'.repeat(1024 * 1024)}\n`,
    'long/line.txt': `alpha ${'y'.repeat(400)}\n`,
    'many/lines.txt': `${'omega '.repeat(60)}\n`.repeat(1_000),
  };
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(workspace, path, '..'), { recursive: true });
    await writeFile(join(workspace, path), content);
  }
  await mkdir(join(root, 'outside'));
  await writeFile(join(root, 'outside/secret.ts'), 'alpha\n');
  await symlink(join(workspace, 'src/x.ts'), join(workspace, 'link-in.ts'));
  await symlink(join(root, 'outside'), join(workspace, 'dir-out'));
  await symlink(join(root, 'outside/secret.ts'), join(workspace, 'file-out.ts'));
  store = new DirectoryStore(join(root, 'store'));
});
afterAll(() => rm(root, { recursive: true, force: true }));

// Both engines, the same expectations: the fallback must give what ripgrep gives.
describe.each(['ripgrep', 'javascript'] as const)('glob and grep with the %s engine', (engine) => {
  const tools = new Map(codingTools({ searchEngine: engine }).map((t) => [t.name, t]));
  const call = (name: string, input: unknown) =>
    runToolCall(tools, store, { workflowId: 'wf', turn: 1, workspace, call: { id: `toolu_${++seq}`, name, input } });

  beforeAll(async () => {
    if (engine === 'ripgrep') expect(await ripgrepAvailable(), 'rg is installed (scripts/install-tools.sh)').toBe(true);
  });

  it('are side-effect free', () => {
    expect(tools.get('glob')!.sideEffectFree).toBe(true);
    expect(tools.get('grep')!.sideEffectFree).toBe(true);
  });

  it('glob lists files in path order, relative to the workspace, skipping .git, node_modules and symlinks', async () => {
    expect(await call('glob', { pattern: '**/*.ts' })).toEqual({ content: '.hidden/h.ts\nsrc/deep/y.ts\nsrc/x.ts\n' });
    expect(await call('glob', { pattern: '*.ts', path: 'src' })).toEqual({ content: 'src/deep/y.ts\nsrc/x.ts\n' });
    expect(await call('glob', { pattern: 'src/*.ts' })).toEqual({ content: 'src/x.ts\n' });
    expect(await call('glob', { pattern: '*.{txt,dat}', path: './a/' })).toEqual({ content: 'a/b.txt\n' });
    expect(await call('glob', { pattern: '*.py' })).toEqual({ content: 'no files match *.py under .' });
  });

  it.each([
    ['a symlink that leads out', 'dir-out', 'outside the workspace through a symlink'],
    ['..', '..', 'leaves the workspace'],
    ['an absolute path', '/etc', 'is absolute'],
  ])('refuse a path through %s as a tool error', async (_, path, message) => {
    for (const name of ['glob', 'grep']) {
      const out = await call(name, { pattern: 'alpha', path });
      expect(out.isError).toBe(true);
      expect(out.content).toContain(message);
    }
    expect((await call('grep', { pattern: 'alpha', path: 'file-out.ts' })).content).toContain('outside the workspace');
  });

  it('grep lists path:line:text of matching lines; binary, oversized, skipped and symlinked files left out', async () => {
    expect(await call('grep', { pattern: 'alpha' })).toEqual({
      content: [
        '.hidden/h.ts:1:alpha',
        'a/b.txt:1:alpha beta',
        'a.txt:1:alpha',
        'crlf.txt:1:alpha',
        `long/line.txt:1:alpha ${'y'.repeat(294)}…`,
        'src/deep/y.ts:1:alpha',
        '',
      ].join('\n'),
    });
  });

  it('grep takes a glob, ignore_case, and a file as its path', async () => {
    expect(await call('grep', { pattern: 'alpha', glob: '*.ts', ignore_case: true })).toEqual({
      content: '.hidden/h.ts:1:alpha\nsrc/deep/y.ts:1:alpha\nsrc/x.ts:1:const Alpha = 1;\n',
    });
    expect(await call('grep', { pattern: 'be.a', path: 'src/x.ts' })).toEqual({
      content: 'src/x.ts:2:const beta = 2;\n',
    });
    expect(await call('grep', { pattern: 'Alpha', path: 'link-in.ts' })).toEqual({
      content: 'link-in.ts:1:const Alpha = 1;\n',
    });
    expect(await call('grep', { pattern: 'nothing here' })).toEqual({ content: 'no matches for nothing here under .' });
  });

  it('grep is bounded in matches and in output, and says so', async () => {
    const two = await call('grep', { pattern: 'alpha', max_matches: 2 });
    expect(two.content).toBe(
      '.hidden/h.ts:1:alpha\na/b.txt:1:alpha beta\n[stopped at 2 matches: there are more; narrow the pattern or the path]',
    );
    const many = await call('grep', { pattern: 'omega', path: 'many', max_matches: 1_000 });
    expect(many.content.length).toBeLessThan(MAX_SEARCH_OUTPUT_CHARS + 200);
    expect(many.content).toMatch(/\[\d+ more matches not shown: the output limit is 30000 characters\]$/);
  });

  it('a pattern the engine cannot read is a tool error', async () => {
    const out = await call('grep', { pattern: '(unclosed' });
    expect(out.isError).toBe(true);
    expect(out.content).toContain('(unclosed');
  });
});
