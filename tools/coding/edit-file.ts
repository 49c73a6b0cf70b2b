import { z } from 'zod';
import { defineTool, type ToolContext, type ToolOutput } from '../define.js';
import { MAX_READ_BYTES, readWorkspaceText } from '../workspace-tools.js';
import { WorkspacePathError, writeWorkspaceFile } from '../workspace-path.js';
import { editDiff } from './edit-diff.js';

/** The diff an edit shows (to the model after it, to a person before it), at most this long. */
export const EDIT_DIFF_CHARS = 4_000;

export const EditFileInput = z
  .object({
    path: z.string().min(1).describe('file path relative to the workspace'),
    old_string: z.string().min(1).max(MAX_READ_BYTES).describe('the exact text to replace, unique in the file'),
    new_string: z.string().max(MAX_READ_BYTES).describe('the text to put in its place'),
    replace_all: z.boolean().default(false).describe('replace every occurrence instead of exactly one'),
  })
  .strict();
type EditFileInput = z.output<typeof EditFileInput>;

/** Where `needle` occurs in `text`, left to right and not overlapping, as a replacement sees it. */
function occurrences(text: string, needle: string): number[] {
  const found: number[] = [];
  for (let at = text.indexOf(needle); at !== -1; at = text.indexOf(needle, at + needle.length)) found.push(at);
  return found;
}

export type PlannedEdit = { ok: true; text: string; offsets: number[] } | { ok: false; error: string };

/** The file's new text, or why the edit cannot be made (a message for the model). */
export function planEdit(path: string, text: string, input: Omit<EditFileInput, 'path'>): PlannedEdit {
  const { old_string: oldString, new_string: newString, replace_all: all } = input;
  if (oldString === newString) return { ok: false, error: 'old_string and new_string are the same: nothing to edit' };
  const offsets = occurrences(text, oldString);
  if (!offsets.length) {
    return {
      ok: false,
      error: `old_string was not found in ${path}: it must match the file exactly, whitespace and indentation included (read the file again)`,
    };
  }
  if (offsets.length > 1 && !all) {
    return {
      ok: false,
      error: `old_string occurs ${offsets.length} times in ${path}: include more of the surrounding text to make it unique, or set replace_all to replace every occurrence`,
    };
  }
  return { ok: true, text: text.split(oldString).join(newString), offsets };
}

/** The planned edit of the file as the model named it, or an error; a path that cannot be used throws. */
async function plan(
  input: EditFileInput,
  workspace: string,
): Promise<{ text: string; diff: string; count: number } | { error: string }> {
  const read = await readWorkspaceText(workspace, input.path);
  if ('error' in read) return read;
  const planned = planEdit(input.path, read.text, input);
  if (!planned.ok) return { error: planned.error };
  const diff = editDiff(input.path, read.text, planned.offsets, input.old_string, input.new_string, EDIT_DIFF_CHARS);
  return { text: planned.text, diff, count: planned.offsets.length };
}

const edited = (path: string, count: number, diff: string) =>
  `edited ${path}: ${count} ${count === 1 ? 'replacement' : 'replacements'}\n${diff}`;

/**
 * After an interrupted attempt: the edit is in place when the old text is gone and the new one is
 * there. When the old text is part of the new one (an insertion next to it), the file cannot
 * show which, so it cannot tell.
 */
async function editTookEffect(input: EditFileInput, { workspace }: ToolContext): Promise<ToolOutput | undefined> {
  if (input.new_string.includes(input.old_string)) return undefined;
  const read = await readWorkspaceText(workspace, input.path);
  if ('error' in read || read.text.includes(input.old_string) || !read.text.includes(input.new_string))
    return undefined;
  return { content: `edited ${input.path} (the edit was found in place after an interrupted attempt)` };
}

export const editFileTool = defineTool({
  name: 'edit_file',
  description:
    'Edit a UTF-8 text file in the workspace by replacing an exact string. old_string must occur exactly once ' +
    '(give enough surrounding lines to make it unique) unless replace_all is set. Returns a diff of the change.',
  input: EditFileInput,
  sideEffectFree: false,
  policy: 'approve',
  async run(input, ctx) {
    const planned = await plan(input, ctx.workspace);
    if ('error' in planned) return { content: planned.error, isError: true };
    await writeWorkspaceFile(ctx, input.path, planned.text);
    return { content: edited(input.path, planned.count, planned.diff) };
  },
  checkEffect: editTookEffect,
  async approvalDetail(input, { workspace }) {
    // A path the model cannot use is said to the person too; any other failure names no worker path.
    const planned = await plan(input, workspace).catch((err: unknown) => ({
      error: err instanceof WorkspacePathError ? err.message : `${input.path} cannot be read`,
    }));
    return 'error' in planned ? `edit_file would fail: ${planned.error}` : planned.diff;
  },
});
