/**
 * The unified diff of an exact string replacement, computed from where the replaced string
 * occurs rather than by comparing the two texts: an edit's diff costs what the edit touches.
 */

/** Lines of unchanged text shown around a change, as `diff -u` does. */
const CONTEXT = 3;

/** The text's lines, without their newlines (a final newline ends the last line, it does not start one). */
const linesOf = (text: string): string[] => {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines;
};

interface Change {
  /** The first changed line of the old text (0-based) and the lines it had and has. */
  at: number;
  removed: string[];
  added: string[];
}

/**
 * The changes replacing `oldString` by `newString` at `offsets` (ascending, not overlapping)
 * makes: each occurrence's whole lines, occurrences that share a line together, and lines the
 * same before and after left out.
 */
function changesOf(text: string, offsets: readonly number[], oldString: string, newString: string): Change[] {
  const changes: Change[] = [];
  let i = 0;
  while (i < offsets.length) {
    const start = text.lastIndexOf('\n', offsets[i]! - 1) + 1;
    let end = start;
    let replaced = '';
    let from = start;
    // The first occurrence, and every next one that begins before the region's end: they share a line.
    for (let first = true; i < offsets.length && (first || offsets[i]! < end); i++, first = false) {
      const at = offsets[i]!;
      const last = text.indexOf('\n', at + oldString.length - 1);
      end = Math.max(end, last === -1 ? text.length : last + 1);
      replaced += text.slice(from, at) + newString;
      from = at + oldString.length;
    }
    replaced += text.slice(from, end);
    const removed = linesOf(text.slice(start, end));
    const added = linesOf(replaced);
    let first = linesOf(text.slice(0, start)).length;
    while (removed.length && added.length && removed[0] === added[0]) {
      removed.shift();
      added.shift();
      first++;
    }
    while (removed.length && added.length && removed.at(-1) === added.at(-1)) {
      removed.pop();
      added.pop();
    }
    if (!removed.length && !added.length) continue;
    // A change right after the one before (the next line) is shown with it: all its - lines, then its + lines.
    const before = changes.at(-1);
    if (before && before.at + before.removed.length === first) {
      before.removed.push(...removed);
      before.added.push(...added);
    } else changes.push({ at: first, removed, added });
  }
  return changes;
}

/** `diff -u` of the edit, for `path`, cut at `maxChars` with a note of what was left out. */
export function editDiff(
  path: string,
  text: string,
  offsets: readonly number[],
  oldString: string,
  newString: string,
  maxChars: number,
): string {
  const old = linesOf(text);
  const changes = changesOf(text, offsets, oldString, newString);
  const out = [`--- a/${path}`, `+++ b/${path}`];
  let delta = 0;
  for (let c = 0; c < changes.length;) {
    // One hunk: changes whose context would touch or overlap.
    let last = c;
    while (
      last + 1 < changes.length &&
      changes[last + 1]!.at - (changes[last]!.at + changes[last]!.removed.length) <= 2 * CONTEXT
    )
      last++;
    const from = Math.max(0, changes[c]!.at - CONTEXT);
    const lastChange = changes[last]!;
    const to = Math.min(old.length, lastChange.at + lastChange.removed.length + CONTEXT);
    const body: string[] = [];
    let line = from;
    let added = 0;
    for (const change of changes.slice(c, last + 1)) {
      for (; line < change.at; line++) body.push(` ${old[line]}`);
      body.push(...change.removed.map((l) => `-${l}`), ...change.added.map((l) => `+${l}`));
      line += change.removed.length;
      added += change.added.length - change.removed.length;
    }
    for (; line < to; line++) body.push(` ${old[line]}`);
    const oldCount = to - from;
    const header = `@@ -${from + (oldCount ? 1 : 0)},${oldCount} +${from + delta + (oldCount + added ? 1 : 0)},${oldCount + added} @@`;
    out.push(header, ...body);
    delta += added;
    c = last + 1;
  }
  const diff = out.join('\n');
  if (diff.length <= maxChars) return diff;
  // Room for the note, so that the whole stays within the bound.
  const room = Math.max(0, maxChars - 60);
  const shown = diff.slice(0, diff.lastIndexOf('\n', room) + 1 || room);
  return `${shown}[diff cut: ${diff.length - shown.length} more characters]`;
}
