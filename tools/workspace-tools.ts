import { mkdir, readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { dirname } from 'node:path';
import { z } from 'zod';
import { defineTool } from './define.js';
import { resolveInWorkspace } from './workspace-path.js';

export const MAX_READ_BYTES = 256 * 1024;
/** Characters one read returns; longer files are read in parts with `offset`. */
export const READ_CHUNK_CHARS = 32_000;
const MAX_LIST_ENTRIES = 2_000;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A missing path is the model's mistake to fix, not a worker fault: say so without the worker's paths. */
async function statOrMissing(file: string, path: string) {
  try {
    return await stat(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { missing: `${path} does not exist` };
    throw err;
  }
}

export const listFiles = defineTool({
  name: 'list_files',
  description: 'List the entries of a directory in the workspace (directories end with /).',
  input: z.object({ path: z.string().default('.').describe('directory relative to the workspace') }).strict(),
  sideEffectFree: true,
  async run({ path }, { workspace }) {
    const dir = await resolveInWorkspace(workspace, path);
    const info = await statOrMissing(dir, path);
    if ('missing' in info) return { content: info.missing, isError: true };
    if (!info.isDirectory()) return { content: `${path} is not a directory`, isError: true };
    const entries = await readdir(dir, { withFileTypes: true });
    const names = entries.map((e) => (e.isDirectory() ? `${e.name}/` : e.name)).sort();
    const shown = names.slice(0, MAX_LIST_ENTRIES);
    const more = names.length - shown.length;
    return { content: shown.join('\n') + (more > 0 ? `\n… and ${more} more entries` : '') || '(empty directory)' };
  },
});

export const readFileTool = defineTool({
  name: 'read_file',
  description: `Read a UTF-8 text file from the workspace: ${READ_CHUNK_CHARS} characters from \`offset\` (default 0).`,
  input: z
    .object({
      path: z.string().min(1).describe('file path relative to the workspace'),
      offset: z.number().int().min(0).default(0).describe('character to start at, for files read in parts'),
    })
    .strict(),
  sideEffectFree: true,
  async run({ path, offset }, { workspace }) {
    const file = await resolveInWorkspace(workspace, path);
    const info = await statOrMissing(file, path);
    if ('missing' in info) return { content: info.missing, isError: true };
    if (!info.isFile()) return { content: `${path} is not a regular file`, isError: true };
    if (info.size > MAX_READ_BYTES) {
      return { content: `${path} is ${info.size} bytes, over the ${MAX_READ_BYTES}-byte read limit`, isError: true };
    }
    let text: string;
    try {
      text = utf8.decode(await readFile(file));
    } catch {
      return { content: `${path} is not valid UTF-8 text`, isError: true };
    }
    const part = text.slice(offset, offset + READ_CHUNK_CHARS);
    const rest = text.length - offset - part.length;
    return {
      content: rest > 0 ? `${part}\n[${rest} more characters: read_file with offset ${offset + part.length}]` : part,
    };
  },
});

export const writeFileTool = defineTool({
  name: 'write_file',
  description: 'Create or replace a UTF-8 text file in the workspace; parent directories are created.',
  input: z
    .object({
      path: z.string().min(1).describe('file path relative to the workspace'),
      content: z
        .string()
        .max(1024 * 1024)
        .describe('the full new content of the file'),
    })
    .strict(),
  sideEffectFree: false,
  async run({ path, content }, { workspace }) {
    const file = await resolveInWorkspace(workspace, path);
    await mkdir(dirname(file), { recursive: true });
    const tmp = `${file}.${randomUUID()}.tmp`;
    await writeFile(tmp, content);
    await rename(tmp, file);
    return { content: `wrote ${Buffer.byteLength(content)} bytes to ${path}` };
  },
});

export const workspaceTools = [listFiles, readFileTool, writeFileTool];
