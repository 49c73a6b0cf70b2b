import type { BlobStore } from './blob-store.js';
import { DirectoryStore } from './directory-store.js';
import { PostgresStore } from './postgres-store.js';

export type { BlobRef, BlobStore } from './blob-store.js';

/**
 * The transcript store a worker uses: PostgreSQL when LONGHAUL_STORE_URL names a database (so
 * workers on several machines share one store), else a directory on this machine.
 */
export function openStore(config: { LONGHAUL_STORE_URL?: string; LONGHAUL_STORE_DIR: string }): Promise<BlobStore> {
  // config/env.ts accepts only postgres URLs here, so a typo fails at start rather than
  // silently giving each worker a private directory.
  const url = config.LONGHAUL_STORE_URL;
  return url ? PostgresStore.connect(url) : Promise.resolve(new DirectoryStore(config.LONGHAUL_STORE_DIR));
}
