import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runToolCall } from '../../activities/run-tool.js';
import { WriteProtectedEntry, writeProtectedBy } from '../../common/write-protected.js';
import { readEnv } from '../../config/env.js';
import { DirectoryStore } from '../../store/directory-store.js';
import type { ToolOutput } from '../../tools/define.js';
import { workspaceTools } from '../../tools/workspace-tools.js';
import { LonghaulPlugin } from '../../worker/plugin.js';

const tools = new Map(workspaceTools.map((t) => [t.name, t]));
let root: string;
let store: DirectoryStore;
let seq = 0;
const callIn = (workspace: string, name: string, input: unknown, writeProtected?: readonly string[]) =>
  runToolCall(
    tools,
    store,
    { workflowId: 'wf', turn: 1, workspace, call: { id: `toolu_${++seq}`, name, input } },
    writeProtected,
  );

/** Every file and directory under `dir`, as relative paths (symlinks not followed). */
async function tree(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true });
  return entries.sort();
}

/** A fresh workspace `ws` and an `outside` directory beside it, under their own temporary directory. */
async function sandbox(name: string) {
  const base = join(root, name);
  const ws = join(base, 'ws');
  const outside = join(base, 'outside');
  await mkdir(ws, { recursive: true });
  await mkdir(outside);
  return { base, ws, outside };
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'longhaul-confine-'));
  store = new DirectoryStore(join(root, 'store'));
});
afterAll(async () => {
  await store?.close();
  await rm(root, { recursive: true, force: true });
});

/**
 * A separate process that swaps `ws/d` (a directory or a file) with a symlink to `target`, by
 * renames, in a tight loop until its stdin closes: `d` is parked at `ws/parked`, a new symlink is
 * renamed into its place, then removed and `d` renamed back. It prints how many times `d` was the
 * symlink. A step that fails (a write made a new `d` while it was missing) puts `d` back and goes on.
 */
const SWAPPER = `
const fs = require('node:fs');
const [ws, target] = process.argv.slice(1);
const d = ws + '/d', parked = ws + '/parked', fresh = ws + '/fresh';
let swaps = 0;
const restore = () => {
  for (;;) {
    try {
      fs.rmSync(fresh, { force: true });
      if (fs.existsSync(parked)) { fs.rmSync(d, { recursive: true, force: true }); fs.renameSync(parked, d); }
      return;
    } catch {}
  }
};
const burst = () => {
  for (let i = 0; i < 50; i++) {
    try {
      fs.renameSync(d, parked);
      fs.symlinkSync(target, fresh);
      fs.renameSync(fresh, d);
      swaps++;
      fs.unlinkSync(d);
      fs.renameSync(parked, d);
    } catch { restore(); }
  }
  setImmediate(burst);
};
process.stdin.on('data', () => {});
process.stdin.on('end', () => { restore(); process.stdout.write(swaps + '\\n'); process.exit(0); });
process.stdout.write('ready\\n');
burst();
`;

/** Runs `calls` tool calls, four at a time, while the swapper runs; returns their outputs and the swap count. */
async function whileSwapping(ws: string, target: string, calls: number, each: (i: number) => Promise<ToolOutput>) {
  const child = spawn(process.execPath, ['-e', SWAPPER, ws, target], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  expect((await lines.next()).value).toBe('ready');
  const outputs: ToolOutput[] = [];
  const worker = async (start: number) => {
    for (let i = start; i < calls; i += 4) outputs.push(await each(i));
  };
  await Promise.all([0, 1, 2, 3].map(worker));
  child.stdin.end();
  const swaps = Number((await lines.next()).value);
  await once(child, 'exit');
  return { outputs, swaps };
}

describe('confinement under a symlink-swap race', () => {
  it('1,000 writes under a directory swapped with a symlink to outside: nothing outside, each wrote inside or failed', async () => {
    const { base, ws, outside } = await sandbox('write-race');
    await mkdir(join(ws, 'd'));
    const { outputs, swaps } = await whileSwapping(ws, outside, 1_000, (i) =>
      callIn(ws, 'write_file', { path: i % 2 ? 'd/f.txt' : `d/sub${i % 10}/f.txt`, content: `write ${i}` }),
    );

    expect(swaps).toBeGreaterThan(100);
    expect(outputs).toHaveLength(1_000);
    // Nothing outside the workspace: no file, no directory, no temporary file, beside it or in `outside`.
    expect(await readdir(outside)).toEqual([]);
    expect((await readdir(base)).sort()).toEqual(['outside', 'ws']);
    const wrote = outputs.filter((o) => !o.isError);
    for (const o of wrote) expect(o.content).toMatch(/^wrote \d+ bytes to d\/(sub\d\/)?f\.txt$/);
    for (const o of outputs.filter((o) => o.isError)) expect(o.content).not.toContain(root);
    expect(wrote.length).toBeGreaterThan(0);
    // The writes landed inside, and left no temporary file.
    const inside = await tree(ws);
    expect(inside.filter((p) => p.endsWith('.tmp'))).toEqual([]);
    expect(inside.some((p) => p.endsWith('f.txt'))).toBe(true);
  });

  it('1,000 reads under the same swap never return the outside file', async () => {
    const { ws, outside } = await sandbox('read-race');
    await mkdir(join(ws, 'd'));
    await writeFile(join(ws, 'd/f.txt'), 'inside');
    await writeFile(join(outside, 'f.txt'), 'OUTSIDE SECRET');
    const { outputs, swaps } = await whileSwapping(ws, outside, 1_000, () =>
      callIn(ws, 'read_file', { path: 'd/f.txt' }),
    );

    expect(swaps).toBeGreaterThan(100);
    expect(outputs.filter((o) => o.content.includes('OUTSIDE'))).toEqual([]);
    expect(outputs.filter((o) => !o.isError && o.content !== 'inside')).toEqual([]);
    expect(outputs.some((o) => !o.isError)).toBe(true);
    for (const o of outputs.filter((o) => o.isError)) expect(o.content).not.toContain(root);
  });

  it('a file swapped with a symlink to an outside file: 300 writes leave it untouched, 300 reads never return it', async () => {
    const { ws, outside } = await sandbox('file-race');
    await writeFile(join(ws, 'd'), 'inside');
    await writeFile(join(outside, 'secret.txt'), 'OUTSIDE SECRET');
    const target = join(outside, 'secret.txt');
    const writes = await whileSwapping(ws, target, 300, (i) =>
      callIn(ws, 'write_file', { path: 'd', content: 'inside' + i }),
    );
    const reads = await whileSwapping(ws, target, 300, () => callIn(ws, 'read_file', { path: 'd' }));

    expect(writes.swaps).toBeGreaterThan(30);
    expect(reads.swaps).toBeGreaterThan(30);
    expect(await readdir(outside)).toEqual(['secret.txt']);
    expect(await readFile(target, 'utf8')).toBe('OUTSIDE SECRET');
    expect(writes.outputs.some((o) => !o.isError)).toBe(true);
    expect(reads.outputs.filter((o) => o.content.includes('OUTSIDE'))).toEqual([]);
    expect(reads.outputs.filter((o) => !o.isError && !o.content.startsWith('inside'))).toEqual([]);
    expect((await tree(ws)).filter((p) => p.endsWith('.tmp'))).toEqual([]);
  });
});

describe('paths that are refused, and writes that work', () => {
  let base: string;
  let ws: string;
  let outside: string;
  const call = (name: string, input: unknown, writeProtected?: readonly string[]) =>
    callIn(ws, name, input, writeProtected);
  const refused = async (name: string, input: unknown, message: string | RegExp, writeProtected?: string[]) => {
    const out = await call(name, input, writeProtected);
    expect(out.isError).toBe(true);
    expect(out.content).toMatch(message);
    expect(out.content).not.toContain(root);
  };

  beforeAll(async () => {
    ({ base, ws, outside } = await sandbox('paths'));
    await mkdir(join(ws, '.git'));
    await writeFile(join(ws, '.git/config'), '[core]\n');
    await mkdir(join(ws, 'adir'));
    await writeFile(join(ws, 'target.txt'), 'before');
    await writeFile(join(outside, 'secret.txt'), 'secret');
    await symlink('.git', join(ws, 'g'));
    await symlink('.git/config', join(ws, 'cfg'));
    await symlink('target.txt', join(ws, 'link-in'));
    await symlink(join(outside, 'secret.txt'), join(ws, 'link-out'));
    await symlink('missing.txt', join(ws, 'dangling'));
    execFileSync('mkfifo', [join(ws, 'fifo')]);
  });

  it.each(['.', './', './/.'])(
    'write_file and read_file refuse %j, the workspace itself; list_files lists it',
    async (path) => {
      await refused('write_file', { path, content: 'x' }, `path ${JSON.stringify(path)} is the workspace itself`);
      await refused('read_file', { path }, 'is the workspace itself');
      expect((await call('list_files', { path })).content).toContain('adir/');
    },
  );

  it('write_file refuses an empty path; nothing is written outside or beside the workspace', async () => {
    await refused('write_file', { path: '', content: 'x' }, /invalid input for write_file: path/);
    expect((await readdir(base)).sort()).toEqual(['outside', 'ws']);
    expect(await readdir(outside)).toEqual(['secret.txt']);
  });

  it.each([
    ['.git/config', '.git'],
    ['sub/.git/hooks/x', '.git'],
    ['.GIT/config', '.git'],
    ['a/.Git', '.git'],
    ['g/config', '.git'],
    ['cfg', '.git'],
  ])('write_file refuses %j, under %j, and creates nothing', async (path, entry) => {
    await refused(
      'write_file',
      { path, content: '[core]\n\tfsmonitor = touch pwned\n' },
      `path ${JSON.stringify(path)} is write-protected (under ${JSON.stringify(entry)})`,
    );
    expect(await readFile(join(ws, '.git/config'), 'utf8')).toBe('[core]\n');
    await expect(lstat(join(ws, 'sub'))).rejects.toThrow(/ENOENT/);
    await expect(lstat(join(ws, 'a'))).rejects.toThrow(/ENOENT/);
  });

  it('refuses writes under configured entries: a name anywhere, a path as a prefix, case-insensitively', async () => {
    const entries = ['secrets', 'config/prod'];
    await refused('write_file', { path: 'app/secrets/key', content: 'x' }, 'under "secrets"', entries);
    await refused('write_file', { path: 'config/prod/db.yml', content: 'x' }, 'under "config/prod"', entries);
    await refused('write_file', { path: 'Config/PROD', content: 'x' }, 'under "config/prod"', entries);
    await refused('write_file', { path: '.git/x', content: 'x' }, 'under ".git"', entries);
    expect(
      (await call('write_file', { path: 'app/config/prod/db.yml', content: 'x' }, entries)).isError,
    ).toBeUndefined();
    // Reads are not write-protected.
    expect(await call('read_file', { path: 'g/config' }, entries)).toEqual({ content: '[core]\n' });
  });

  it('a nested write creates its parents inside the workspace', async () => {
    expect(await call('write_file', { path: 'n1/n2/n3/f.txt', content: 'deep' })).toEqual({
      content: 'wrote 4 bytes to n1/n2/n3/f.txt',
    });
    expect(await readFile(join(ws, 'n1/n2/n3/f.txt'), 'utf8')).toBe('deep');
    expect(await call('read_file', { path: './n1//n2/n3/f.txt' })).toEqual({ content: 'deep' });
  });

  it('writes through a symlink that stays inside; refuses one that leads out or nowhere', async () => {
    expect((await call('write_file', { path: 'link-in', content: 'after' })).isError).toBeUndefined();
    expect(await readFile(join(ws, 'target.txt'), 'utf8')).toBe('after');
    expect((await lstat(join(ws, 'link-in'))).isSymbolicLink()).toBe(true);
    await refused('write_file', { path: 'link-out', content: 'x' }, 'resolves outside the workspace through a symlink');
    await refused('write_file', { path: 'dangling', content: 'x' }, 'is a dangling symlink');
    expect(await readFile(join(outside, 'secret.txt'), 'utf8')).toBe('secret');
    expect(await readdir(outside)).toEqual(['secret.txt']);
  });

  it('a write that fails leaves no temporary file; a FIFO is refused without blocking', async () => {
    await refused('write_file', { path: 'adir', content: 'x' }, 'adir is a directory');
    await refused('write_file', { path: 'adir/', content: 'x' }, "ends with '/'");
    await refused('write_file', { path: 'target.txt/x', content: 'x' }, 'is not a directory');
    await refused('read_file', { path: 'fifo' }, 'fifo is not a regular file');
    await refused('list_files', { path: 'target.txt' }, 'is not a directory');
    await refused('read_file', { path: 'nope/x' }, 'nope/x does not exist');
    expect((await tree(ws)).filter((p) => p.endsWith('.tmp'))).toEqual([]);
  });

  it('a workspace that does not exist is a tool error that does not name it', async () => {
    const out = await callIn(join(base, 'gone'), 'write_file', { path: 'x', content: 'x' });
    expect(out).toEqual({ content: "the run's workspace directory does not exist", isError: true });
    await expect(lstat(join(base, 'gone'))).rejects.toThrow(/ENOENT/);
  });
});

describe('write-protected entries', () => {
  it('match a name as any component and a path as a prefix, case-insensitively; .git always', () => {
    expect(writeProtectedBy(['src', 'a.ts'])).toBeUndefined();
    expect(writeProtectedBy(['x', '.GIT', 'config'])).toBe('.git');
    expect(writeProtectedBy(['.gitignore'])).toBeUndefined();
    expect(writeProtectedBy(['a', 'Secrets'], ['secrets'])).toBe('secrets');
    expect(writeProtectedBy(['config', 'prod', 'x'], ['./config/prod/'])).toBe('./config/prod/');
    expect(writeProtectedBy(['a', 'config', 'prod'], ['config/prod'])).toBeUndefined();
    expect(writeProtectedBy(['config'], ['config/prod'])).toBeUndefined();
  });

  it.each([
    ['/etc', 'must be relative to the workspace'],
    ['a/../..', "must not contain '..'"],
    ['./', 'must name a path'],
  ])('refuses the entry %j', (entry, message) => {
    const parsed = WriteProtectedEntry.safeParse(entry);
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.message).toBe(message);
  });

  it('come from LONGHAUL_WRITE_PROTECTED, comma-separated; a bad one names the variable', () => {
    expect(readEnv({ LONGHAUL_WRITE_PROTECTED: 'secrets, config/prod,' }).LONGHAUL_WRITE_PROTECTED).toEqual([
      'secrets',
      'config/prod',
    ]);
    expect(readEnv({}).LONGHAUL_WRITE_PROTECTED).toBeUndefined();
    expect(() => readEnv({ LONGHAUL_WRITE_PROTECTED: 'ok,/etc' })).toThrow(
      'LONGHAUL_WRITE_PROTECTED="ok,/etc": must be relative to the workspace',
    );
  });

  it('are checked when the plugin is made: a bad one is an error, not an unprotected path', () => {
    expect(() => new LonghaulPlugin({ store, anthropic: {} as Anthropic, writeProtected: ['ok', '../up'] })).toThrow(
      "writeProtected: 1: must not contain '..'",
    );
  });
});
