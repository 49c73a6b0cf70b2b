/** Writing the transcript chain; its shape and reading are in store/transcript.ts. */
import type Anthropic from '@anthropic-ai/sdk';
import type { BlobRef, PendingBlock } from '../common/contracts.js';
import type { BlobStore } from '../store/blob-store.js';
import type { TranscriptCache, TranscriptNode } from '../store/transcript.js';

type ContentBlockParam = Anthropic.Beta.Messages.BetaContentBlockParam;

/** Stores a node, and keeps it in the worker's cache: the next model call of the run reads it first. */
export async function writeNode(store: BlobStore, node: TranscriptNode, cache?: TranscriptCache): Promise<BlobRef> {
  const text = JSON.stringify(node);
  const ref = await store.put(text);
  cache?.set(ref, node, text.length);
  return ref;
}

export async function resolvePending(store: BlobStore, blocks: PendingBlock[]): Promise<ContentBlockParam[]> {
  return Promise.all(
    blocks.map(async (block): Promise<ContentBlockParam> => {
      if (block.type === 'text') return block;
      const content = 'contentRef' in block ? await store.get(block.contentRef) : block.content;
      return {
        type: 'tool_result',
        tool_use_id: block.tool_use_id,
        content,
        ...(block.is_error ? { is_error: true } : {}),
      };
    }),
  );
}

/**
 * The node of a new user message. After a user message (the reply to it was dropped: a refusal, an
 * empty reply) it joins that message, so roles still alternate as the API requires.
 */
export function appendUser(
  headNode: TranscriptNode | null,
  headRef: BlobRef | null,
  content: ContentBlockParam[],
): TranscriptNode {
  if (headNode?.message.role !== 'user') return { prev: headRef, message: { role: 'user', content } };
  const earlier = headNode.message.content as ContentBlockParam[];
  return { prev: headNode.prev, message: { role: 'user', content: [...earlier, ...content] } };
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
  const earlier = continuing ? (headNode.message.content as ContentBlockParam[]) : [];
  const content = [...earlier, ...reply];
  const cut = content.findLastIndex(hasSummary);
  // Continuing the on-demand block's own message keeps it at the chain's start.
  const onDemand = continuing && headNode.onDemand === true && cut === 0;
  if (cut >= 0)
    return {
      prev: null,
      message: { role: 'assistant', content: content.slice(cut) },
      ...(onDemand ? { onDemand: true as const } : {}),
    };
  return { prev: continuing ? headNode.prev : headRef, message: { role: 'assistant', content } };
}
