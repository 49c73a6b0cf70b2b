import { ApplicationFailure } from '@temporalio/common';
import { decryptString, DecryptionError, encryptString, isEncryptedString, type Keyring } from '../config/codec.js';
import { ContentStore, refFor, type BlobRef } from './blob-store.js';

/**
 * Encryption at rest for a `ContentStore`: blob contents and ledger values are stored as
 * `enc:v1:<keyId>:<base64>` (AES-256-GCM under the keyring's current key). Refs stay the hash of
 * the plaintext, computed here, so content addressing and idempotent writes work as before (a
 * retried write of the same content is a no-op even though its ciphertext would differ), and
 * `get` checks the plaintext against its ref.
 *
 * Each ciphertext is bound to where it lives (the blob's ref, the ledger key), so one cannot be
 * swapped for another unnoticed. Values written before encryption was turned on (no prefix) are
 * still read: a blob only if it matches its ref. The journal is not secret (idempotency keys and
 * tool names) and stays plain.
 */
export class EncryptedStore extends ContentStore {
  constructor(
    private readonly inner: ContentStore,
    private readonly keyring: Keyring,
  ) {
    super();
  }

  async put(content: string, ref: BlobRef = refFor(content)): Promise<BlobRef> {
    return this.inner.put(encryptString(this.keyring, content, ref), ref);
  }

  /** The plaintext (unchecked: `get` checks it): decrypted, or as stored before encryption was on. */
  async readStored(ref: BlobRef): Promise<string> {
    const stored = await this.inner.readStored(ref);
    return isEncryptedString(stored) ? this.decrypt(stored, ref, `blob ${ref}`) : stored;
  }

  async getRecord(key: string): Promise<string | undefined> {
    const stored = await this.inner.getRecord(key);
    return stored === undefined ? undefined : this.decrypt(stored, ledgerContext(key), `ledger record ${key}`);
  }

  async putRecord(key: string, value: string): Promise<void> {
    await this.inner.putRecord(key, encryptString(this.keyring, value, ledgerContext(key)));
  }

  createRecord(key: string, value: string): Promise<boolean> {
    return this.inner.createRecord(key, encryptString(this.keyring, value, ledgerContext(key)));
  }

  journal(line: string): Promise<void> {
    return this.inner.journal(line);
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  private decrypt(stored: string, context: string, what: string): string {
    try {
      return decryptString(this.keyring, stored, context);
    } catch (err) {
      // Tampered or misplaced data never heals: fail for good. An unknown key id is left
      // retryable: adding the key to the worker's keyring and restarting lets the run go on.
      if (err instanceof DecryptionError) throw unreadable(`transcript store ${what}: ${err.message}`);
      throw err;
    }
  }
}

const ledgerContext = (key: string) => `ledger:${key}`;

function unreadable(message: string): ApplicationFailure {
  return ApplicationFailure.create({ type: 'BlobUnreadable', message, nonRetryable: true });
}
