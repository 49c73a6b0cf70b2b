import { readdir } from 'node:fs/promises';
import { z } from 'zod';
import { defineTool, type ToolContext, type ToolOutput } from './define.js';
import { withWorkspaceDir, withWorkspaceFile, writeWorkspaceFile } from './workspace-path.js';

export const MAX_READ_BYTES = 256 * 1024;
/** Characters one read returns; longer files are read in parts with `offset`. */
export const READ_CHUNK_CHARS = 32_000;
const MAX_LIST_ENTRIES = 2_000;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A UTF-8 text file of the workspace, whole, or why the model cannot have it (over
 * MAX_READ_BYTES, not UTF-8). A path that cannot be used throws WorkspacePathError.
 */
export async function readWorkspaceText(
  workspace: string,
  path: string,
): Promise<{ text: string } | { error: string }> {
  const bytes = await withWorkspaceFile(workspace, path, async (file, info) => {
    if (info.size > MAX_READ_BYTES) return undefined;
    // At most one byte over the limit, should the file grow while it is read.
    const buf = Buffer.alloc(MAX_READ_BYTES + 1);
    let length = 0;
    while (length < buf.length) {
      const { bytesRead } = await file.read(buf, length, buf.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    return length > MAX_READ_BYTES ? undefined : buf.subarray(0, length);
  });
  if (bytes === undefined) return { error: `${path} is over the ${MAX_READ_BYTES}-byte read limit` };
  try {
    return { text: utf8.decode(bytes) };
  } catch {
    return { error: `${path} is not valid UTF-8 text` };
  }
}

export const listFiles = defineTool({
  name: 'list_files',
  description: 'List the entries of a directory in the workspace (directories end with /).',
  input: z.object({ path: z.string().default('.').describe('directory relative to the workspace') }).strict(),
  sideEffectFree: true,
  // A path the model cannot use (missing, outside, write-protected) throws WorkspacePathError: a tool error.
  async run({ path }, { workspace }) {
    const entries = await withWorkspaceDir(workspace, path, (dir) => readdir(dir, { withFileTypes: true }));
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
    const read = await readWorkspaceText(workspace, path);
    if ('error' in read) return { content: read.error, isError: true };
    const { text } = read;
    const part = text.slice(offset, offset + READ_CHUNK_CHARS);
    const rest = text.length - offset - part.length;
    return {
      content: rest > 0 ? `${part}\n[${rest} more characters: read_file with offset ${offset + part.length}]` : part,
    };
  },
});

const wrote = (path: string, content: string) => `wrote ${Buffer.byteLength(content)} bytes to ${path}`;

/** write_file's check after an interrupted attempt: the file holds exactly the content, or it cannot tell. */
async function writeFileTookEffect(
  { path, content }: { path: string; content: string },
  { workspace }: ToolContext,
): Promise<ToolOutput | undefined> {
  const expected = Buffer.from(content);
  const holds = await withWorkspaceFile(
    workspace,
    path,
    async (file, info) => info.size === expected.length && expected.equals(await file.readFile()),
  ).catch(() => false);
  return holds ? { content: wrote(path, content) } : undefined;
}

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
  async run({ path, content }, ctx) {
    await writeWorkspaceFile(ctx, path, content);
    return { content: wrote(path, content) };
  },
  checkEffect: writeFileTookEffect,
});

export const workspaceTools = [listFiles, readFileTool, writeFileTool];
