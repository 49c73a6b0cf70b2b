/**
 * Bounds on what a model or a person hands a run: measured without recursion, since a value
 * nested 100,000 deep overflows the stack of anything recursive (JSON.stringify, zod).
 */

/** Tool inputs nested deeper than this are refused: no real tool needs more. */
export const MAX_INPUT_DEPTH = 64;

/** Tool inputs larger than this (UTF-8 bytes of JSON) go to the store; the workflow keeps a reference. */
export const INLINE_INPUT_BYTES = 8 * 1024;
/**
 * What one reply's tool calls may hold inline in the model call's result, in all. Tools the
 * workflow runs itself (update_state, finish, escalate_to_human) must be inline: one that does not
 * fit is refused with a tool error. Other tools past it go by reference whatever their size.
 */
export const MAX_INLINE_INPUTS_BYTES = 64 * 1024;
/** Tool results above this many characters go to the store; the workflow keeps a reference. */
export const INLINE_RESULT_CHARS = 1_024;

/** A reply's tool calls past this many are answered with a tool error, not run. */
export const MAX_CALLS_PER_REPLY = 64;

/** A text cut at `max` characters, marked with `…` where it was cut. */
export const cutText = (text: string, max: number): string => (text.length > max ? `${text.slice(0, max)}…` : text);

/** What the memory keeps of a failure's description (it is carried into every next run). */
export const FAILURE_CHARS = 1_000;

/** UTF-8 length of a string, without Buffer (the workflow sandbox has none). */
export function utf8Bytes(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c < 0xdc00 && i + 1 < text.length) {
      n += 4; // a surrogate pair: one 4-byte character
      i++;
    } else n += 3;
  }
  return n;
}

export interface Measure {
  /** The deepest nesting seen (a scalar is 0, `{}` and `[]` are 1), up to `maxDepth + 1`. */
  depth: number;
  /** About the size of the JSON in UTF-8 bytes (strings, keys and punctuation), up to past `maxBytes`. */
  bytes: number;
  /** A limit was passed; the walk stopped there. */
  exceeded: 'depth' | 'bytes' | null;
}

/**
 * Walks a JSON-like value with an explicit stack, stopping at the first limit passed: deep or
 * huge values cost no more than the limits. `bytes` is an estimate close to JSON.stringify's
 * (string escapes are not counted), good for bounds, not for accounting.
 */
export function measure(value: unknown, limits: { maxDepth?: number; maxBytes?: number } = {}): Measure {
  const maxDepth = limits.maxDepth ?? Infinity;
  const maxBytes = limits.maxBytes ?? Infinity;
  const stack: { v: unknown; d: number }[] = [{ v: value, d: 0 }];
  let depth = 0;
  let bytes = 0;
  while (stack.length) {
    const { v, d } = stack.pop()!;
    if (typeof v === 'string') bytes += utf8Bytes(v) + 2;
    else if (v === null || typeof v !== 'object') bytes += String(v).length;
    else {
      const level = d + 1;
      depth = Math.max(depth, level);
      if (level > maxDepth) return { depth, bytes, exceeded: 'depth' };
      const entries = Array.isArray(v) ? v : Object.entries(v);
      bytes += 2 + Math.max(0, entries.length - 1);
      if (Array.isArray(v)) for (const item of v) stack.push({ v: item, d: level });
      else
        for (const [key, item] of entries as [string, unknown][]) {
          bytes += utf8Bytes(key) + 3;
          stack.push({ v: item, d: level });
        }
    }
    if (bytes > maxBytes) return { depth, bytes, exceeded: 'bytes' };
  }
  return { depth, bytes, exceeded: null };
}

/** What the model is told of a tool input nested too deep (its input is replaced by `{}` everywhere). */
export const tooDeepError = (name: string) =>
  `${name} was not run: its input is nested deeper than ${MAX_INPUT_DEPTH} levels, the limit; send a flatter input`;
