import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  canonicalJson,
  doneRecord,
  intentRecord,
  ledgerKey,
  readRecord,
  uncertainEffect,
} from '../../activities/ledger.js';
import { runToolCall } from '../../activities/run-tool.js';
import type { ToolRunInput } from '../../common/contracts.js';
import { Keyring } from '../../config/codec.js';
import { DirectoryStore } from '../../store/directory-store.js';
import { EncryptedStore } from '../../store/encrypted-store.js';
import { defineTool, type ToolDefinition } from '../../tools/define.js';
import { workspaceTools } from '../../tools/workspace-tools.js';
import { countingTool, FaultyLedger } from '../helpers/faulty-ledger.js';

const input = (over: Partial<ToolRunInput> = {}): ToolRunInput => ({
  workflowId: 'wf',
  turn: 3,
  workspace: '/ws',
  call: { id: 'toolu_a', name: 'record_effect', input: { note: 'x' } },
  chainId: 'run-1',
  position: 0,
  ...over,
});

describe('ledger keys', () => {
  it('name the run, the chain, the turn, the position and the call; the tool_use id is left out', () => {
    expect(ledgerKey(input())).toMatch(/^wf\/run-1\/3\/0\/[0-9a-f]{16}$/);
    // After a reset the model gives the same call a new id: it is the same call in the same slot.
    expect(ledgerKey(input({ call: { id: 'toolu_b', name: 'record_effect', input: { note: 'x' } } }))).toBe(
      ledgerKey(input()),
    );
  });

  it('differ for another position (two calls with one tool_use id), turn, chain, input or tool', () => {
    const keys = [
      input(),
      input({ position: 1 }),
      input({ turn: 4 }),
      input({ chainId: 'run-2' }),
      input({ call: { id: 'toolu_a', name: 'record_effect', input: { note: 'y' } } }),
      input({ call: { id: 'toolu_a', name: 'other_tool', input: { note: 'x' } } }),
    ].map(ledgerKey);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('do not depend on the order of the input keys', () => {
    const a = { name: 'w', input: { path: 'p', content: 'c', nested: { b: 1, a: [2, { d: 3, c: 4 }] } } };
    const b = { name: 'w', input: { nested: { a: [2, { c: 4, d: 3 }], b: 1 }, content: 'c', path: 'p' } };
    expect(ledgerKey(input({ call: { id: '1', ...a } }))).toBe(ledgerKey(input({ call: { id: '2', ...b } })));
    expect(canonicalJson(b.input)).toBe('{"content":"c","nested":{"a":[2,{"c":4,"d":3}],"b":1},"path":"p"}');
  });

  it('of inputs scheduled before keys had a chain and position are the old workflowId/turn/toolUseId', () => {
    const { chainId: _c, position: _p, ...old } = input();
    expect(ledgerKey(old)).toBe('wf/3/toolu_a');
    expect(ledgerKey({ ...old, chainId: 'run-1' })).toBe('wf/3/toolu_a');
  });
});

describe('ledger records', () => {
  it('read back as written: an intent, or a result', () => {
    expect(readRecord('k', intentRecord('write_file'))).toEqual({ state: 'intent' });
    expect(readRecord('k', doneRecord({ content: 'ok' }))).toEqual({ state: 'done', output: { content: 'ok' } });
    expect(readRecord('k', doneRecord({ content: 'no', isError: true }))).toEqual({
      state: 'done',
      output: { content: 'no', isError: true },
    });
  });

  it('written before intents were recorded (the output itself) read as results', () => {
    expect(readRecord('k', JSON.stringify({ content: 'old', isError: false }))).toEqual({
      state: 'done',
      output: { content: 'old' },
    });
  });

  it('that are neither fail for good, naming the key', () => {
    for (const bad of ['not json', '{"state":"maybe"}', '42'])
      expect(() => readRecord('wf/run-1/3/0/abc', bad)).toThrow(
        "the idempotency ledger's record wf/run-1/3/0/abc is not one longhaul wrote",
      );
  });
});

describe('a side-effecting call against the ledger', () => {
  let dir: string;
  let store: FaultyLedger;
  let counting: ReturnType<typeof countingTool>;
  let tools: Map<string, ToolDefinition>;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'longhaul-ledger-'));
    store = new FaultyLedger(new DirectoryStore(join(dir, 'store')));
    counting = countingTool();
    tools = new Map<string, ToolDefinition>([
      [counting.tool.name, counting.tool],
      ...workspaceTools.map((t): [string, ToolDefinition] => [t.name, t]),
    ]);
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('acts once and journals it; a retry returns the recorded result without acting', async () => {
    expect(await runToolCall(tools, store, input())).toEqual({ content: 'effect #1: x' });
    expect(await runToolCall(tools, store, input())).toEqual({ content: 'effect #1: x' });
    expect(counting.effects('/ws')).toEqual(['x']);
    expect(store.journaled).toEqual([`${ledgerKey(input())} record_effect`]);
  });

  it('does not act when its intent cannot be recorded: the failure is thrown for Temporal to retry', async () => {
    store.failFor('wf', { unwritable: true });
    for (let attempt = 0; attempt < 3; attempt++)
      await expect(runToolCall(tools, store, input())).rejects.toThrow(/EROFS.*cannot record the intent/);
    expect(counting.effects('/ws')).toEqual([]);
    expect(store.journaled).toEqual([]);
  });

  it('whose result could not be recorded after acting is, on retry, reported uncertain and never done again', async () => {
    store.failFor('wf', { failResultWrites: 1 });
    await expect(runToolCall(tools, store, input())).rejects.toThrow(/ENOSPC/);
    const uncertain = { content: uncertainEffect('record_effect'), isError: true };
    expect(await runToolCall(tools, store, input())).toEqual(uncertain);
    // The uncertain answer is recorded: every later attempt gives the same.
    expect(await runToolCall(tools, store, input())).toEqual(uncertain);
    expect(counting.effects('/ws')).toEqual(['x']);
    expect(store.journaled).toHaveLength(1);
  });

  it('that another attempt claimed (an intent without a result) is not done: the race has one winner', async () => {
    const key = ledgerKey(input());
    await store.createRecord(key, intentRecord('record_effect'));
    expect(await runToolCall(tools, store, input())).toMatchObject({ isError: true, content: /may or may not/ });
    expect(counting.effects('/ws')).toEqual([]);
    expect(await store.createRecord(key, intentRecord('record_effect'))).toBe(false);
  });

  it("asks the tool's checkEffect after an interrupted attempt: its answer, or uncertain when it cannot tell or throws", async () => {
    const answers: (() => Promise<{ content: string } | undefined>)[] = [
      async () => ({ content: 'it is there' }),
      async () => undefined,
      async () => {
        throw new Error('cannot look');
      },
    ];
    const results = [];
    for (const [i, answer] of answers.entries()) {
      const checked = defineTool({ ...counting.tool, checkEffect: answer });
      const call = input({ position: i });
      await store.createRecord(ledgerKey(call), intentRecord('record_effect'));
      results.push(await runToolCall(new Map([[checked.name, checked]]), store, call));
    }
    expect(results).toEqual([
      { content: 'it is there' },
      { content: uncertainEffect('record_effect'), isError: true },
      { content: uncertainEffect('record_effect'), isError: true },
    ]);
    expect(counting.effects('/ws')).toEqual([]);
  });

  it('write_file checks the file: the same content is the write done; other content is uncertain', async () => {
    const workspace = join(dir, 'ws');
    await mkdir(workspace);
    const write = (content: string, position: number) =>
      input({ workspace, position, call: { id: 't', name: 'write_file', input: { path: 'out.txt', content } } });
    store.failFor('wf', { failResultWrites: 1 });
    await expect(runToolCall(tools, store, write('hello\n', 0))).rejects.toThrow(/ENOSPC/);
    expect(await runToolCall(tools, store, write('hello\n', 0))).toEqual({ content: 'wrote 6 bytes to out.txt' });
    await store.createRecord(ledgerKey(write('other\n', 1)), intentRecord('write_file'));
    expect(await runToolCall(tools, store, write('other\n', 1))).toMatchObject({ isError: true });
    expect(await readFile(join(workspace, 'out.txt'), 'utf8')).toBe('hello\n');
    expect(store.journaled).toHaveLength(1);
  });

  it('finds results recorded under the old key, in the old format, for inputs without a chain and position', async () => {
    const { chainId: _c, position: _p, ...old } = input();
    await store.putRecord('wf/3/toolu_a', JSON.stringify({ content: 'recorded before the upgrade' }));
    expect(await runToolCall(tools, store, old)).toEqual({ content: 'recorded before the upgrade' });
    expect(counting.effects('/ws')).toEqual([]);
  });

  it('side-effect-free tools use no ledger: they run with the ledger unwritable', async () => {
    await writeFile(join(dir, 'seen.txt'), 'x');
    store.failFor('wf', { unwritable: true });
    const read = input({ workspace: dir, call: { id: 'r', name: 'read_file', input: { path: 'seen.txt' } } });
    expect(await runToolCall(tools, store, read)).toEqual({ content: 'x' });
  });
});

describe('createRecord, the atomic claim of an intent', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'longhaul-claim-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('of the directory store: of ten concurrent claims one wins, and the record holds its value', async () => {
    const store = new DirectoryStore(dir);
    const won = await Promise.all(Array.from({ length: 10 }, (_, i) => store.createRecord('k', `v${i}`)));
    expect(won.filter(Boolean)).toHaveLength(1);
    expect(await store.getRecord('k')).toBe(`v${won.indexOf(true)}`);
    expect(await readdir(join(dir, 'ledger'))).toHaveLength(1);
  });

  it('of the encrypted store: encrypted at rest, bound to its key, and refused when taken', async () => {
    const plain = new DirectoryStore(dir);
    const store = new EncryptedStore(plain, new Keyring([{ id: 'k1', key: randomBytes(32) }]));
    expect(await store.createRecord('wf/a', intentRecord('write_file'))).toBe(true);
    expect(await store.createRecord('wf/a', intentRecord('write_file'))).toBe(false);
    expect(await plain.getRecord('wf/a')).toMatch(/^enc:v1:k1:/);
    expect(readRecord('wf/a', (await store.getRecord('wf/a'))!)).toEqual({ state: 'intent' });
  });
});
