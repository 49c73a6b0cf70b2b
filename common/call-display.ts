/**
 * The one line a person reads to decide on a tool call (the approval question, `pending`, the
 * webhook, the Web UI's event list): the tool, then the fields that say what it acts on, then
 * the rest. No field can hide another: target fields come first whatever the model's key order,
 * each value is cut on its own, and characters that could disguise text are escaped.
 */
import { cutText } from './input-bounds.js';

/** The fields that name what a call acts on, in the order they are shown. */
export const TARGET_FIELDS = [
  'path',
  'file',
  'file_path',
  'filename',
  'directory',
  'command',
  'cmd',
  'args',
  'url',
  'uri',
  'host',
  'query',
  'name',
  'target',
  'destination',
] as const;

/** A target field's value is shown whole up to this many characters... */
export const TARGET_CHARS = 400;
/** ...and all the targets together up to this many, shared equally, so that every target is shown. */
export const TARGETS_CHARS = 1_200;
/** Any other field's value is cut at this many characters. */
export const OTHER_CHARS = 60;
/** Fields after the targets stop being listed once the line is this long. */
export const LINE_CHARS = 800;
const KEY_CHARS = 40;

// JSON.stringify escapes C0 controls; these could still pass for something else on a terminal
// (C1 controls, zero-width and bidirectional marks, line and paragraph separators).
const DISGUISING = /[\u007f-\u009f\u00ad\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff]/g;
const escaped = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
const escapeDisguising = (text: string) => text.replace(DISGUISING, escaped);

/** What a person is shown of a held call's approvalDetail (tools/define.ts) at most, in characters. */
export const APPROVAL_DETAIL_CHARS = 4_000;

// Line breaks and tabs lay a diff or a command out; any other control (an ANSI escape, a carriage
// return that rewinds the line) could make a terminal show something else than the call does.
const CONTROLS = /(?![\n\t])\p{Cc}/gu;

/**
 * A tool's approval detail as a person reads it, below the call's line: controls and disguising
 * characters escaped, then cut at APPROVAL_DETAIL_CHARS.
 */
export function approvalDetailText(detail: string): string {
  return cutText(escapeDisguising(detail).replace(CONTROLS, escaped), APPROVAL_DETAIL_CHARS);
}

/** A value as JSON, cut at `max` characters with a note of how much more there was. */
export function cutValue(value: unknown, max: number): string {
  let json: string;
  try {
    json = JSON.stringify(value) ?? String(value);
  } catch {
    json = '(unprintable)';
  }
  json = escapeDisguising(json);
  return json.length > max ? `${json.slice(0, max)}… (${json.length - max} more chars)` : json;
}

/** A key as shown: plain when it is a plain word, else quoted (so that no key can pass for `path=…`). */
const showKey = (key: string) =>
  /^[A-Za-z_][\w.-]{0,39}$/.test(key) ? key : cutValue(key.slice(0, KEY_CHARS + 1), KEY_CHARS);

/** `write_file path=".git/config" content="[core]…" (+2 more fields)`. */
export function callDisplay(name: string, input: unknown): string {
  const tool = showKey(name);
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    return `${tool} ${cutValue(input, TARGET_CHARS)}`;
  }
  const entries = Object.entries(input as Record<string, unknown>);
  const targets = TARGET_FIELDS.flatMap((field) => (Object.hasOwn(input, field) ? [field] : []));
  const each = Math.max(OTHER_CHARS, Math.min(TARGET_CHARS, Math.floor(TARGETS_CHARS / Math.max(1, targets.length))));
  const parts = targets.map((field) => `${field}=${cutValue((input as Record<string, unknown>)[field], each)}`);
  let line = [tool, ...parts].join(' ');
  const rest = entries.filter(([key]) => !targets.includes(key as (typeof TARGET_FIELDS)[number]));
  let shown = 0;
  for (const [key, value] of rest) {
    if (line.length >= LINE_CHARS) break;
    line += ` ${showKey(key)}=${cutValue(value, OTHER_CHARS)}`;
    shown++;
  }
  const hidden = rest.length - shown;
  return hidden ? `${line} (+${hidden} more field${hidden === 1 ? '' : 's'})` : line;
}
