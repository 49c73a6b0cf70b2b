import type { Keyring } from '../config/codec.js';
import type { BlobStore } from './blob-store.js';
import { DirectoryStore } from './directory-store.js';
import { EncryptedStore } from './encrypted-store.js';
import { PostgresStore } from './postgres-store.js';

export type { BlobRef, BlobStore } from './blob-store.js';

/**
 * The transcript store a worker uses: PostgreSQL when LONGHAUL_STORE_URL names a database (so
 * workers on several machines share one store), else a directory on this machine; encrypted when
 * a keyring is given.
 */
export async function openStore(
  config: { LONGHAUL_STORE_URL?: string | undefined; LONGHAUL_STORE_DIR: string },
  keyring?: Keyring,
): Promise<BlobStore> {
  // config/env.ts accepts only postgres URLs here, so a typo fails at start rather than
  // silently giving each worker a private directory.
  const url = config.LONGHAUL_STORE_URL;
  const store = url ? await PostgresStore.connect(url) : new DirectoryStore(config.LONGHAUL_STORE_DIR);
  // With a keyring, blobs and ledger values are encrypted at rest (docs/security.md).
  return keyring ? new EncryptedStore(store, keyring) : store;
}
