import { createHash } from 'node:crypto';

/** Ids derived from what was asked, so the same request always gets the same answer. */
const hexDigest = (text: string): string => createHash('sha256').update(text).digest('hex');

export const requestId = (path: string, body: string): string => `req_${hexDigest(`${path}\n${body}`).slice(0, 24)}`;

export const messageId = (fingerprint: string): string => `msg_${hexDigest(fingerprint).slice(0, 24)}`;

export const toolUseId = (context: string, blockIndex: number): string =>
  `toolu_${hexDigest(`${context}#${blockIndex}`).slice(0, 24)}`;
