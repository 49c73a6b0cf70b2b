/** Writing the transcript chain; its shape and reading are in store/transcript.ts. */
import type Anthropic from '@anthropic-ai/sdk';
import type { BlobRef, ModelCallResult, PendingBlock } from '../common/contracts.js';
import type { BlobStore } from '../store/blob-store.js';
import type { NodeUsage, TranscriptCache, TranscriptNode } from '../store/transcript.js';

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
  turn?: number,
): TranscriptNode {
  const numbered = turn !== undefined ? { turn } : {};
  if (headNode?.message.role !== 'user') return { prev: headRef, message: { role: 'user', content }, ...numbered };
  const earlier = headNode.message.content as ContentBlockParam[];
  return { prev: headNode.prev, message: { role: 'user', content: [...earlier, ...content] }, ...numbered };
}

/** A call's usage as a node keeps it: flat, its compaction iterations counted in. */
export function nodeUsage({ usage: u, costNanos }: Pick<ModelCallResult, 'usage' | 'costNanos'>): NodeUsage {
  const c = u.compaction;
  return {
    inputTokens: u.inputTokens + (c?.inputTokens ?? 0),
    outputTokens: u.outputTokens + (c?.outputTokens ?? 0),
    cacheReadTokens: (u.cacheReadTokens ?? 0) + (c?.cacheReadTokens ?? 0),
    cacheWriteTokens: (u.cacheWriteTokens ?? 0) + (c?.cacheWriteTokens ?? 0),
    ...(costNanos !== undefined ? { costNanos } : {}),
  };
}

/** Two calls of one turn; the cost only when both were priced. */
export function addUsage(a: NodeUsage, b: NodeUsage): NodeUsage {
  return {
    inputTokens: a.inputTokens + b.inputTokens,
    outputTokens: a.outputTokens + b.outputTokens,
    cacheReadTokens: a.cacheReadTokens + b.cacheReadTokens,
    cacheWriteTokens: a.cacheWriteTokens + b.cacheWriteTokens,
    ...(a.costNanos !== undefined && b.costNanos !== undefined ? { costNanos: a.costNanos + b.costNanos } : {}),
  };
}

const hasSummary = (block: ContentBlockParam) =>
  block.type === 'compaction' && typeof block.content === 'string' && block.content.length > 0;

/**
 * Appends an assistant reply. A reply to a request that ended with an assistant message (after a
 * pause for compaction or `pause_turn`) continues that message rather than adding a second one,
 * and its usage adds to that message's. A compaction block with a summary cuts the chain: it and
 * what follows it are all the model is sent again; `before` keeps the head as it was, for the record.
 */
export function appendAssistant(
  headNode: TranscriptNode | null,
  headRef: BlobRef | null,
  reply: ContentBlockParam[],
  call: { turn?: number; usage?: NodeUsage } = {},
): TranscriptNode {
  const continuing = headNode?.message.role === 'assistant';
  const earlier = continuing ? (headNode.message.content as ContentBlockParam[]) : [];
  const content = [...earlier, ...reply];
  const cut = content.findLastIndex(hasSummary);
  // A cut inside the message continued: that message was cut there already, and knows what was
  // before. A cut in the reply keeps the head (a continued message too) in the record, as it was.
  const replaces = continuing && (cut < 0 || cut < earlier.length);
  const before = cut >= 0 ? (replaces ? headNode.before : (headRef ?? undefined)) : undefined;
  // The usage of the calls whose message this node replaces is summed in; a turn's nodes add up.
  const usage = replaces && headNode.usage && call.usage ? addUsage(headNode.usage, call.usage) : call.usage;
  const meta = { ...(call.turn !== undefined ? { turn: call.turn } : {}), ...(usage ? { usage } : {}) };
  // Continuing the on-demand block's own message keeps it at the chain's start.
  const onDemand = continuing && headNode.onDemand === true && cut === 0;
  if (cut >= 0) {
    return {
      prev: null,
      message: { role: 'assistant', content: content.slice(cut) },
      ...(onDemand ? { onDemand: true as const } : {}),
      ...meta,
      ...(before ? { before } : {}),
    };
  }
  return { prev: continuing ? headNode.prev : headRef, message: { role: 'assistant', content }, ...meta };
}
