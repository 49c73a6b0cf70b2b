import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { appendAssistant, writeNode } from '../activities/transcript.js';
import type { BlobRef, BlobStore } from '../store/blob-store.js';
import { DirectoryStore } from '../store/directory-store.js';
import { loadTranscript, TranscriptCache, type TranscriptNode } from '../store/transcript.js';

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
