import { ApplicationFailure } from '@temporalio/common';
import { createHash } from 'node:crypto';

import type { BlobRef } from '../common/contracts.js';

export type { BlobRef };

export const refFor = (content: string): BlobRef => `sha256:${createHash('sha256').update(content).digest('hex')}`;

/**
 * Where transcript content and the idempotency ledger live. Writes are idempotent: the key is
 * the content's hash, so a retried activity that writes the same content writes nothing new.
 */
export interface BlobStore {
  /**
   * Stores `content` under its hash, or under `ref` when given: a wrapper that transforms what it
   * stores (`EncryptedStore`) keeps the plaintext's ref, so addressing and idempotency do not
   * depend on the transformation. Storing under a ref that is already present is a no-op.
   */
  put(content: string, ref?: BlobRef): Promise<BlobRef>;
  /**
   * The content stored under `ref`, checked against it. Throws a non-retryable `BlobMissing`
   * failure naming the reference when it is absent, `BlobCorrupt` when it does not match.
   */
  get(ref: BlobRef): Promise<string>;
  /** The idempotency ledger: a side-effecting call's intent, then its result, by idempotency key. */
  getRecord(key: string): Promise<string | undefined>;
  putRecord(key: string, value: string): Promise<void>;
  /**
   * Records `value` under `key` only if nothing is recorded there yet, atomically: true if it was
   * recorded. Of two attempts of one call racing to record their intent, exactly one may act.
   */
  createRecord(key: string, value: string): Promise<boolean>;
  /** Appends one line to the journal of side effects actually performed (an audit trail). */
  journal(line: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * longhaul's stores: each says what it holds under a ref (`readStored`), and `get` checks it here,
 * the one place a blob is verified. A store that transforms what it keeps (`EncryptedStore`) reads
 * its inner store's `readStored` and returns the plaintext, which `get` verifies.
 */
export abstract class ContentStore implements BlobStore {
  abstract put(content: string, ref?: BlobRef): Promise<BlobRef>;
  /** What this store holds under `ref`, unchecked (ciphertext, under EncryptedStore); `BlobMissing` when absent. */
  abstract readStored(ref: BlobRef): Promise<string>;
  abstract getRecord(key: string): Promise<string | undefined>;
  abstract putRecord(key: string, value: string): Promise<void>;
  abstract createRecord(key: string, value: string): Promise<boolean>;
  abstract journal(line: string): Promise<void>;
  abstract close(): Promise<void>;

  async get(ref: BlobRef): Promise<string> {
    const content = await this.readStored(ref);
    if (refFor(content) !== ref) throw blobCorrupt(ref);
    return content;
  }
}

/** Content that is not what its ref says never heals: retrying would read the same bytes again. */
export function blobCorrupt(ref: string): ApplicationFailure {
  return ApplicationFailure.create({
    type: 'BlobCorrupt',
    message: `transcript store blob ${ref} does not match its hash: it was changed outside longhaul`,
    nonRetryable: true,
  });
}

export function blobMissing(ref: string): ApplicationFailure {
  return ApplicationFailure.create({
    type: 'BlobMissing',
    message: `transcript store has no blob ${ref}: the store was changed or lost outside longhaul`,
    nonRetryable: true,
  });
}
