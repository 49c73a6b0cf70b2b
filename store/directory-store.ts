import { access, appendFile, link, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createHash, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { blobMissing, ContentStore, refFor, type BlobRef } from './blob-store.js';

const isMissing = (err: unknown) => (err as NodeJS.ErrnoException).code === 'ENOENT';

/** Writes via a temporary file and a rename, so a crash never leaves a half-written blob. */
async function writeAtomic(path: string, content: string): Promise<void> {
  const tmp = `${path}.${randomUUID()}.tmp`;
  await writeFile(tmp, content);
  await rename(tmp, path);
}

/** The default store: one directory on the worker's machine. */
export class DirectoryStore extends ContentStore {
  constructor(private readonly root: string) {
    super();
  }

  private blobPath(ref: string): string {
    const hex = ref.slice('sha256:'.length);
    if (!/^[0-9a-f]{64}$/.test(hex)) throw blobMissing(ref);
    return join(this.root, 'blobs', hex.slice(0, 2), hex);
  }

  private recordPath(key: string): string {
    return join(this.root, 'ledger', createHash('sha256').update(key).digest('hex'));
  }

  async put(content: string, ref: BlobRef = refFor(content)): Promise<BlobRef> {
    const path = this.blobPath(ref);
    try {
      await access(path);
      return ref;
    } catch (err) {
      if (!isMissing(err)) throw err;
    }
    await mkdir(join(path, '..'), { recursive: true });
    await writeAtomic(path, content);
    return ref;
  }

  async readStored(ref: BlobRef): Promise<string> {
    try {
      return await readFile(this.blobPath(ref), 'utf8');
    } catch (err) {
      if (isMissing(err)) throw blobMissing(ref);
      throw err;
    }
  }

  async getRecord(key: string): Promise<string | undefined> {
    try {
      return await readFile(this.recordPath(key), 'utf8');
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  async putRecord(key: string, value: string): Promise<void> {
    await mkdir(join(this.root, 'ledger'), { recursive: true });
    await writeAtomic(this.recordPath(key), value);
  }

  async createRecord(key: string, value: string): Promise<boolean> {
    await mkdir(join(this.root, 'ledger'), { recursive: true });
    const path = this.recordPath(key);
    // A hard link fails if the name exists, and the record appears whole or not at all.
    const tmp = `${path}.${randomUUID()}.tmp`;
    await writeFile(tmp, value);
    try {
      await link(tmp, path);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw err;
    } finally {
      await rm(tmp, { force: true });
    }
  }

  async journal(line: string): Promise<void> {
    await mkdir(this.root, { recursive: true });
    await appendFile(join(this.root, 'effects.log'), `${line}\n`);
  }

  async close(): Promise<void> {}
}
