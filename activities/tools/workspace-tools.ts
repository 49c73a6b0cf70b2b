import { mkdir, readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { dirname } from 'node:path';
import { z } from 'zod';
import { defineTool } from '../../tools/define.js';
import { resolveInWorkspace } from './workspace-path.js';

export const MAX_READ_BYTES = 256 * 1024;
const MAX_LIST_ENTRIES = 2_000;
const utf8 = new TextDecoder('utf-8', { fatal: true });

export const listFiles = defineTool({
  name: 'list_files',
  description: 'List the entries of a directory in the workspace (directories end with /).',
  input: z.object({ path: z.string().default('.').describe('directory relative to the workspace') }).strict(),
  sideEffects: false,
  async run({ path }, { workspace }) {
    const dir = await resolveInWorkspace(workspace, path);
    const entries = await readdir(dir, { withFileTypes: true });
    const names = entries.map((e) => (e.isDirectory() ? `${e.name}/` : e.name)).sort();
    const shown = names.slice(0, MAX_LIST_ENTRIES);
    const more = names.length - shown.length;
    return { content: shown.join('\n') + (more > 0 ? `\n… and ${more} more entries` : '') || '(empty directory)' };
  },
});

export const readFileTool = defineTool({
  name: 'read_file',
  description: `Read a UTF-8 text file from the workspace (at most ${MAX_READ_BYTES} bytes).`,
  input: z.object({ path: z.string().min(1).describe('file path relative to the workspace') }).strict(),
  sideEffects: false,
  async run({ path }, { workspace }) {
    const file = await resolveInWorkspace(workspace, path);
    const info = await stat(file);
    if (!info.isFile()) return { content: `${path} is not a regular file`, isError: true };
    if (info.size > MAX_READ_BYTES) {
      return { content: `${path} is ${info.size} bytes, over the ${MAX_READ_BYTES}-byte read limit`, isError: true };
    }
    try {
      return { content: utf8.decode(await readFile(file)) };
    } catch {
      return { content: `${path} is not valid UTF-8 text`, isError: true };
    }
  },
});

export const writeFileTool = defineTool({
  name: 'write_file',
  description: 'Create or replace a UTF-8 text file in the workspace; parent directories are created.',
  input: z
    .object({
      path: z.string().min(1).describe('file path relative to the workspace'),
      content: z.string().max(1024 * 1024).describe('the full new content of the file'),
    })
    .strict(),
  sideEffects: true,
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
