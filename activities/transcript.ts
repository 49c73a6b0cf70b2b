import type Anthropic from '@anthropic-ai/sdk';
import type { BlobRef, BlobStore } from './store/blob-store.js';

type MessageParam = Anthropic.Beta.Messages.BetaMessageParam;
type ContentBlockParam = Anthropic.Beta.Messages.BetaContentBlockParam;

/**
 * The transcript is a chain of nodes in the content-addressed store, newest first. The workflow
 * holds only the head reference, so what each model call writes to Temporal's history is the size
 * of what is new in the turn, never the size of the context. A node that starts with a compaction
 * block has no predecessor: the API ignores everything before the block, so the chain ends there.
 */
export interface TranscriptNode {
  prev: BlobRef | null;
  message: MessageParam;
}

/** A block of the next user message, as the workflow holds it: small values inline, the rest by reference. */
export type PendingBlock =
  | { type: 'text'; text: string }
  | { type: 'tool_result'; tool_use_id: string; content: string; is_error?: boolean }
  | { type: 'tool_result'; tool_use_id: string; contentRef: BlobRef; is_error?: boolean };

export async function readNode(store: BlobStore, ref: BlobRef): Promise<TranscriptNode> {
  return JSON.parse(await store.get(ref)) as TranscriptNode;
}

export const writeNode = (store: BlobStore, node: TranscriptNode): Promise<BlobRef> => store.put(JSON.stringify(node));

/** The messages the model sees: from the chain's start (or last compaction) to the head. */
export async function loadMessages(store: BlobStore, head: BlobRef | null): Promise<MessageParam[]> {
  const messages: MessageParam[] = [];
  for (let ref = head; ref; ) {
    const node = await readNode(store, ref);
    messages.push(node.message);
    ref = node.prev;
  }
  return messages.reverse();
}

export async function resolvePending(store: BlobStore, blocks: PendingBlock[]): Promise<ContentBlockParam[]> {
  return Promise.all(
    blocks.map(async (block): Promise<ContentBlockParam> => {
      if (block.type === 'text') return block;
      const content = 'contentRef' in block ? await store.get(block.contentRef) : block.content;
      return { type: 'tool_result', tool_use_id: block.tool_use_id, content, ...(block.is_error ? { is_error: true } : {}) };
    }),
  );
}

const hasSummary = (block: ContentBlockParam) =>
  block.type === 'compaction' && typeof block.content === 'string' && block.content.length > 0;

/**
 * Appends an assistant reply. A reply to a request that ended with an assistant message (after a
 * pause for compaction or `pause_turn`) continues that message rather than adding a second one.
 * A compaction block with a summary cuts the chain: it and what follows it are all that is kept.
 */
export function appendAssistant(
  headNode: TranscriptNode | null,
  headRef: BlobRef | null,
  reply: ContentBlockParam[],
): TranscriptNode {
  const continuing = headNode?.message.role === 'assistant';
  const earlier = continuing ? (headNode!.message.content as ContentBlockParam[]) : [];
  const content = [...earlier, ...reply];
  const cut = content.findLastIndex(hasSummary);
  if (cut >= 0) return { prev: null, message: { role: 'assistant', content: content.slice(cut) } };
  return { prev: continuing ? headNode!.prev : headRef, message: { role: 'assistant', content } };
}
