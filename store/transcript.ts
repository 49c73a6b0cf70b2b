import type Anthropic from '@anthropic-ai/sdk';
import type { BlobRef, BlobStore } from './blob-store.js';

type MessageParam = Anthropic.Beta.Messages.BetaMessageParam;

/**
 * The transcript is a chain of nodes in the content-addressed store, newest first. The workflow
 * holds only the head reference, so what each model call writes to Temporal's history is the size
 * of what is new in the turn, never the size of the context. A node that starts with a compaction
 * block has no predecessor: the API ignores everything before the block, so the chain the model
 * sees ends there. Such a node keeps the head before the cut in `before`, so the whole record of
 * the run stays walkable (store/chain.ts); `loadTranscript` never follows it.
 *
 * Reading lives here, beside the stores, because both the worker and `longhaul export` read it;
 * writing is the model activity's (`activities/transcript.ts`).
 */
export interface TranscriptNode {
  prev: BlobRef | null;
  message: MessageParam;
  /**
   * The chain starts with an on-demand compaction block: while it does, requests must not carry
   * the threshold compaction edit (the API refuses the two together).
   */
  onDemand?: true;
  /** The turn whose request (user) or reply (assistant) this is. Absent in nodes written before it. */
  turn?: number;
  /** An assistant node's model calls, summed (a turn continued after a pause is one node). */
  usage?: NodeUsage;
  /** On a node a compaction cut (prev null): the head before the cut. */
  before?: BlobRef;
}

/** What a turn's model calls used and cost; compaction iterations are counted in. */
export interface NodeUsage {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  /** Absent when a call had no price. */
  costNanos?: number;
}

/**
 * Parsed transcript nodes by reference, in the order they were stored or read. A node never changes (its ref is
 * its content's hash), so a worker keeps the recent ones rather than reading and parsing every
 * node of a run's chain from the store on every model call: that was a third of a busy worker's
 * main-thread time. Bounded by the characters of the nodes it holds. The run's instructions and
 * state are still read from the store on every call, so a store that lost data is still noticed.
 */
export class TranscriptCache {
  readonly #nodes = new Map<BlobRef, { node: TranscriptNode; chars: number }>();
  #chars = 0;

  constructor(private readonly maxChars = 64 * 1024 * 1024) {}

  /**
   * No refresh on a hit: a call walks its chain from the head back, so a refresh would leave the
   * head, the node the next call needs first, as the least recent. The first written go first.
   */
  get(ref: BlobRef): TranscriptNode | undefined {
    return this.#nodes.get(ref)?.node;
  }

  set(ref: BlobRef, node: TranscriptNode, chars: number): void {
    if (chars > this.maxChars || this.#nodes.has(ref)) return;
    this.#nodes.set(ref, { node, chars });
    this.#chars += chars;
    for (const [oldest, { chars: size }] of this.#nodes) {
      if (this.#chars <= this.maxChars) break;
      this.#nodes.delete(oldest);
      this.#chars -= size;
    }
  }

  get size(): number {
    return this.#nodes.size;
  }
}

export async function readNode(store: BlobStore, ref: BlobRef, cache?: TranscriptCache): Promise<TranscriptNode> {
  const cached = cache?.get(ref);
  if (cached) return cached;
  const text = await store.get(ref);
  const node = JSON.parse(text) as TranscriptNode;
  cache?.set(ref, node, text.length);
  return node;
}

/** The messages the model sees: from the chain's start (or last compaction) to the head. */
export async function loadTranscript(
  store: BlobStore,
  head: BlobRef | null,
  cache?: TranscriptCache,
): Promise<{ messages: MessageParam[]; onDemand: boolean }> {
  const messages: MessageParam[] = [];
  let onDemand = false;
  for (let ref = head; ref;) {
    const node = await readNode(store, ref, cache);
    messages.push(node.message);
    onDemand = node.onDemand === true;
    ref = node.prev;
  }
  return { messages: messages.reverse(), onDemand };
}

export const loadMessages = async (store: BlobStore, head: BlobRef | null): Promise<MessageParam[]> =>
  (await loadTranscript(store, head)).messages;
