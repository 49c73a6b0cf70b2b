import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Writes a benchmark's data as JSON to bench/results/<name>; returns the file's path. */
export async function writeResults(name: string, data: unknown): Promise<string> {
  const dir = fileURLToPath(new URL('../results/', import.meta.url));
  const file = join(dir, name);
  await mkdir(dir, { recursive: true });
  await writeFile(file, `${JSON.stringify(data, null, 2)}\n`);
  return file;
}
