import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { appendAssistant, appendUser, writeNode } from '../activities/transcript.js';
import type { BlobRef, BlobStore } from '../store/blob-store.js';
import { DirectoryStore } from '../store/directory-store.js';
import { loadTranscript, TranscriptCache, type NodeUsage, type TranscriptNode } from '../store/transcript.js';
import { compactionSummaries, readChain, readChainPage, turnSeries, type ChainEntry } from '../store/chain.js';

/** A store that counts its reads. */
function counting(store: BlobStore): BlobStore & { reads: number } {
  const counted = Object.assign(Object.create(store) as BlobStore, { reads: 0 });
  counted.get = async (ref: BlobRef) => {
    counted.reads += 1;
    return store.get(ref);
  };
  return counted;
}

const user = (text: string, prev: BlobRef | null): TranscriptNode => ({
  prev,
  message: { role: 'user', content: [{ type: 'text', text }] },
});

describe('the transcript cache', () => {
  it('a chain written through the cache is read back without the store, the same as from the store', async () => {
    const store = counting(new DirectoryStore(await mkdtemp(join(tmpdir(), 'longhaul-transcript-'))));
    const cache = new TranscriptCache();
    let head: BlobRef | null = null;
    for (let turn = 1; turn <= 20; turn++) {
      head = await writeNode(store, user(`turn ${turn}`, head), cache);
      head = await writeNode(store, appendAssistant(null, head, [{ type: 'text', text: `answer ${turn}` }]), cache);
    }
    const cached = await loadTranscript(store, head, cache);
    expect(store.reads).toBe(0);
    expect(cached).toEqual(await loadTranscript(store, head));
    expect(store.reads).toBe(40);
    expect(cached.messages).toHaveLength(40);
  });

  it('keeps the newest nodes within its bound, and reads the rest from the store', async () => {
    const store = counting(new DirectoryStore(await mkdtemp(join(tmpdir(), 'longhaul-transcript-'))));
    const first = await writeNode(store, user('a', null));
    const size = JSON.stringify(user('b', first)).length; // b, c and d have the same size
    const cache = new TranscriptCache(size * 3);
    let head = first;
    for (const text of ['b', 'c', 'd']) head = await writeNode(store, user(text, head), cache);
    expect(cache.size).toBe(3);
    await loadTranscript(store, head, cache);
    // b, c, d were cached; a was read and kept, and pushed out the first stored, b: the head stays.
    expect(store.reads).toBe(1);
    expect(cache.size).toBe(3);
    expect(cache.get(head)).toBeDefined();
    expect(cache.get(first)).toBeDefined();
    await loadTranscript(store, head, cache);
    expect(store.reads).toBe(2);
    // A node larger than the whole bound is never kept.
    cache.set('sha256:big', user('x'.repeat(size * 4), null), size * 4);
    expect(cache.get('sha256:big')).toBeUndefined();
  });
});

const usage = (n: number, costNanos?: number): NodeUsage => ({
  inputTokens: n,
  outputTokens: 1,
  cacheReadTokens: 0,
  cacheWriteTokens: 0,
  ...(costNanos !== undefined ? { costNanos } : {}),
});
const text = (t: string) => [{ type: 'text' as const, text: t }];
const summary = (t: string) => [{ type: 'compaction' as const, content: t }];
const texts = (entries: ChainEntry[]) =>
  entries.map(
    (e) =>
      `${e.turn}:${e.message.role}:${(e.message.content as { text?: string; content?: string }[])[0]!.text ?? (e.message.content as { content: string }[])[0]!.content}`,
  );

/** Writes turns as the model activity does; `cutAt` turns' replies start with a compaction summary. */
async function writeRun(store: BlobStore, turns: number, cutAt: number[], numbered = true) {
  let head: BlobRef | null = null;
  let headNode: TranscriptNode | null = null;
  for (let turn = 1; turn <= turns; turn++) {
    const u = appendUser(headNode, head, text(`ask ${turn}`), numbered ? turn : undefined);
    head = await writeNode(store, u);
    const reply = cutAt.includes(turn)
      ? [...summary(`summary ${turn}`), ...text(`answer ${turn}`)]
      : text(`answer ${turn}`);
    const a = appendAssistant(u, head, reply, numbered ? { turn, usage: usage(turn, 10) } : {});
    head = await writeNode(store, a);
    headNode = a;
  }
  return head;
}

describe('the whole chain', () => {
  const newStore = async () => new DirectoryStore(await mkdtemp(join(tmpdir(), 'longhaul-chain-')));

  it('a compaction cuts what the model sees, and the record keeps every turn with its number', async () => {
    const store = await newStore();
    const head = await writeRun(store, 6, [3, 5]);
    const seen = await loadTranscript(store, head);
    expect(seen.messages.map((m) => m.role)).toEqual(['assistant', 'user', 'assistant']);
    const chain = await readChain(store, head);
    expect(texts(chain)).toEqual([
      '1:user:ask 1',
      '1:assistant:answer 1',
      '2:user:ask 2',
      '2:assistant:answer 2',
      '3:user:ask 3',
      '3:assistant:summary 3',
      '4:user:ask 4',
      '4:assistant:answer 4',
      '5:user:ask 5',
      '5:assistant:summary 5',
      '6:user:ask 6',
      '6:assistant:answer 6',
    ]);
    expect(chain.filter((e) => e.compaction).map((e) => e.turn)).toEqual([3, 5]);
    expect(await compactionSummaries(store, head)).toEqual([
      { turn: 3, summary: 'summary 3' },
      { turn: 5, summary: 'summary 5' },
    ]);
    expect(await turnSeries(store, head)).toEqual(
      [1, 2, 3, 4, 5, 6].map((turn) => ({
        turn,
        inputTokens: turn,
        outputTokens: 1,
        cacheReadTokens: 0,
        cacheWriteTokens: 0,
        costNanos: 10,
      })),
    );
  });

  it('pages newest first, with a cursor, to the start', async () => {
    const store = await newStore();
    const head = await writeRun(store, 5, [2]);
    const seen: ChainEntry[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await readChainPage(store, head, { limit: 3, ...(cursor ? { cursor } : {}) });
      seen.push(...page.entries);
      cursor = page.next ?? undefined;
      pages++;
    } while (cursor);
    expect(pages).toBe(4);
    expect(seen.reverse()).toEqual(await readChain(store, head));
    await expect(readChainPage(store, head, { limit: 3, cursor: 'nonsense' })).rejects.toThrow(/bad transcript cursor/);
  });

  it('numbers nodes written before turns were: from the start, and back from a newer page; not behind an old cut', async () => {
    const store = await newStore();
    const head = await writeRun(store, 4, [], false);
    expect((await readChain(store, head)).map((e) => e.turn)).toEqual([1, 1, 2, 2, 3, 3, 4, 4]);
    const first = await readChainPage(store, head, { limit: 3 });
    expect(first.entries.map((e) => e.turn)).toEqual([null, null, null]);
    // The newest page cannot know; once a page reaches the start, the numbers are counted.
    const older = await readChainPage(store, head, { limit: 10, cursor: first.next! });
    expect(older.entries.map((e) => e.turn)).toEqual([3, 2, 2, 1, 1]);
    // An old cut (no `before`): the start is out of reach, so the turns are unknown.
    const cut = await writeNode(store, { prev: null, message: { role: 'assistant', content: summary('old') } });
    const after = await writeNode(store, { prev: cut, message: { role: 'user', content: text('next') } });
    expect((await readChain(store, after)).map((e) => e.turn)).toEqual([null, null]);
    expect(await turnSeries(store, after)).toEqual([]);
  });

  it('a continued reply sums its calls; a cut inside the continued message keeps what was before it', async () => {
    const store = await newStore();
    const u = appendUser(null, null, text('ask'), 1);
    const uRef = await writeNode(store, u);
    const cut = appendAssistant(u, uRef, summary('s'), { turn: 1, usage: usage(5, 1) });
    expect(cut.before).toBe(uRef);
    const cutRef = await writeNode(store, cut);
    const continued = appendAssistant(cut, cutRef, text('answer'), { turn: 1, usage: usage(7) });
    expect(continued).toMatchObject({ prev: null, before: uRef, usage: { inputTokens: 12, outputTokens: 2 } });
    expect(continued.usage?.costNanos).toBeUndefined(); // one call had no price
    const head = await writeNode(store, continued);
    expect((await readChain(store, head)).map((e) => e.ref)).toEqual([uRef, head]);
    expect(await turnSeries(store, head)).toEqual([
      { turn: 1, inputTokens: 12, outputTokens: 2, cacheReadTokens: 0, cacheWriteTokens: 0, costNanos: null },
    ]);
  });
});
