import type Anthropic from '@anthropic-ai/sdk';
import type { BlobRef, BlobStore } from './blob-store.js';

type MessageParam = Anthropic.Beta.Messages.BetaMessageParam;

/**
 * The transcript is a chain of nodes in the content-addressed store, newest first. The workflow
 * holds only the head reference, so what each model call writes to Temporal's history is the size
 * of what is new in the turn, never the size of the context. A node that starts with a compaction
 * block has no predecessor: the API ignores everything before the block, so the chain ends there.
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
}

export async function readNode(store: BlobStore, ref: BlobRef): Promise<TranscriptNode> {
  return JSON.parse(await store.get(ref)) as TranscriptNode;
}

/** The messages the model sees: from the chain's start (or last compaction) to the head. */
export async function loadTranscript(store: BlobStore, head: BlobRef | null): Promise<{ messages: MessageParam[]; onDemand: boolean }> {
  const messages: MessageParam[] = [];
  let onDemand = false;
  for (let ref = head; ref; ) {
    const node = await readNode(store, ref);
    messages.push(node.message);
    onDemand = node.onDemand === true;
    ref = node.prev;
  }
  return { messages: messages.reverse(), onDemand };
}

export const loadMessages = async (store: BlobStore, head: BlobRef | null): Promise<MessageParam[]> =>
  (await loadTranscript(store, head)).messages;
