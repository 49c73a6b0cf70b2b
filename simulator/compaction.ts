import { createHash, createHmac } from 'node:crypto';
import { blocksOf, type CompactionBlock, type InputBlock, type InputMessage } from './protocol.js';

/** Threshold blocks follow what they summarize; on-demand blocks head the conversation. */
export type CompactionKind = 'threshold' | 'on-demand';

const digest = (text: string): string => createHash('sha256').update(text).digest('base64url');
const mac = (secret: string, record: string): string => createHmac('sha256', secret).update(record).digest('base64url');

/**
 * The signature the server puts on a summary: a record of the kind and of the content's digest,
 * and a MAC over that record. So the server can tell a signature that does not verify
 * (`compaction_signature_invalid`) from a block whose content was edited after signing
 * (`compaction_content_mismatch`), and an on-demand block from a threshold one.
 */
export const signSummary = (secret: string, content: string, kind: CompactionKind = 'threshold'): string => {
  const record = `${kind}.${digest(content)}`;
  return `${record}.${mac(secret, record)}`;
};

export type SignatureCheck = { ok: true; kind: CompactionKind } | { ok: false; reason: 'invalid' | 'mismatch' };

export function checkSignature(secret: string, content: string, signature: unknown): SignatureCheck {
  const [kind, contentDigest, tag, ...rest] = typeof signature === 'string' ? signature.split('.') : [];
  const known = kind === 'threshold' || kind === 'on-demand';
  if (!known || contentDigest === undefined || rest.length > 0 || tag !== mac(secret, `${kind}.${contentDigest}`)) {
    return { ok: false, reason: 'invalid' };
  }
  return contentDigest === digest(content) ? { ok: true, kind } : { ok: false, reason: 'mismatch' };
}

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
export const isOnDemandBlock = (block: InputBlock, secret: string): boolean => {
  if (block.type !== 'compaction' || typeof block.content !== 'string') return false;
  const check = checkSignature(secret, block.content, block.signature);
  return check.ok && check.kind === 'on-demand';
};

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
