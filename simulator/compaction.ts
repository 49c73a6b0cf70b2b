import { createHmac } from 'node:crypto';
import { blocksOf, type CompactionBlock, type InputBlock, type InputMessage } from './protocol.js';

/** Threshold blocks follow what they summarize; on-demand blocks head the conversation. */
export type CompactionKind = 'threshold' | 'on-demand';

/**
 * The signature the server puts on a summary; a block whose content was edited no longer verifies.
 * The kind is signed too, so the server can tell an on-demand block when it comes back.
 */
export const signSummary = (secret: string, content: string, kind: CompactionKind = 'threshold'): string =>
  createHmac('sha256', secret).update(`${kind}\n${content}`).digest('base64');

export const compactionBlock = (
  content: string,
  secret: string,
  kind: CompactionKind = 'threshold',
): CompactionBlock => ({
  type: 'compaction',
  content,
  encrypted_content: null,
  signature: signSummary(secret, content, kind),
});

/** Whether a block is a (valid) on-demand block: one that rules out threshold compaction. */
export const isOnDemandBlock = (block: InputBlock, secret: string): boolean =>
  block.type === 'compaction' &&
  typeof block.content === 'string' &&
  block.signature === signSummary(secret, block.content, 'on-demand');

/** A compaction block with content; one with null content is a failed compaction and a no-op. */
export const isEffectiveCompaction = (block: InputBlock): boolean =>
  block.type === 'compaction' && block.content !== null && block.content !== undefined;

/**
 * What the model sees: everything from the last effective compaction block onward. Blocks before it,
 * in earlier messages or earlier in the same message, are dropped.
 */
export function visibleMessages(messages: InputMessage[]): InputMessage[] {
  for (let m = messages.length - 1; m >= 0; m--) {
    const message = messages[m]!;
    const blocks = blocksOf(message);
    const b = blocks.findLastIndex(isEffectiveCompaction);
    if (b >= 0) return [{ role: message.role, content: blocks.slice(b) }, ...messages.slice(m + 1)];
  }
  return messages;
}
