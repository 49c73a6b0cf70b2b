import type Anthropic from '@anthropic-ai/sdk';
import type { BlobRef, BlobStore } from './blob-store.js';
import { readNode, type NodeUsage, type TranscriptCache, type TranscriptNode } from './transcript.js';

type MessageParam = Anthropic.Beta.Messages.BetaMessageParam;

/**
 * The whole record of a run's transcript, for people (`longhaul export`, the console): every node
 * from the run's start, across compactions (a node a compaction cut keeps the head before the cut
 * in `before`), and across continue-as-new (one chain of nodes spans a workflow's runs). What the
 * model sees is `loadTranscript`'s, which stops at the last compaction.
 */
export interface ChainEntry {
  ref: BlobRef;
  /** As the API got it. */
  message: MessageParam;
  /** The turn whose request (user) or reply (assistant) this is; null when it cannot be known (nodes from before turns were written, with the start out of reach). */
  turn: number | null;
  /** The message starts with a compaction summary: the model was sent nothing before it again. */
  compaction: boolean;
  usage?: NodeUsage;
}

export interface ChainPage {
  /** Newest first. */
  entries: ChainEntry[];
  /** Where the next, older page starts; null once the start is reached. Opaque. */
  next: string | null;
}

export interface TurnPoint {
  turn: number;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  /** Null when a call of the turn had no price. */
  costNanos: number | null;
}

/** What a cursor holds: the node to read next, and the entry just newer than it (to number old nodes by). */
interface Cursor {
  ref: BlobRef;
  newer?: { role: MessageParam['role']; turn: number };
}

const startsWithSummary = (node: TranscriptNode) => {
  const content = node.message.content;
  return Array.isArray(content) && content[0]?.type === 'compaction';
};

/** The node before this one in the record: its predecessor, or across a cut, the head before it. */
const earlierOf = (node: TranscriptNode): BlobRef | null => node.prev ?? node.before ?? null;

/** The first node of a run is a user message with nothing before it; a cut without `before` hides the start. */
const isStart = (node: TranscriptNode) => earlierOf(node) === null && !startsWithSummary(node);

function entryOf(ref: BlobRef, node: TranscriptNode): ChainEntry {
  return {
    ref,
    message: node.message,
    turn: node.turn ?? null,
    compaction: startsWithSummary(node),
    ...(node.usage ? { usage: node.usage } : {}),
  };
}

/**
 * Numbers the entries without a turn (oldest first), from their neighbours: a turn is a user
 * message and the reply to it. Forward from the run's start when it is among them, then back from
 * the newer entries (and `newer`, the entry after the last). Only nodes written before turns were
 * recorded need this; a turn whose reply was dropped (a refusal) puts such numbers off by one.
 */
function numberEntries(entries: ChainEntry[], fromStart: boolean, newer?: Cursor['newer']): void {
  let last: ChainEntry | undefined;
  for (const e of entries) {
    if (e.turn === null) {
      if (last?.turn != null)
        e.turn = e.message.role === 'user' || last.message.role === 'assistant' ? last.turn + 1 : last.turn;
      else if (!last && fromStart) e.turn = e.message.role === 'user' ? 1 : null;
    }
    last = e;
  }
  let next: { role: MessageParam['role']; turn: number } | undefined = newer;
  for (let i = entries.length - 1; i >= 0; i--) {
    const e = entries[i]!;
    if (e.turn === null && next)
      e.turn = e.message.role === 'user' && next.role === 'assistant' ? next.turn : next.turn - 1;
    next = e.turn !== null ? { role: e.message.role, turn: e.turn } : undefined;
  }
}

const encodeCursor = (c: Cursor) => Buffer.from(JSON.stringify(c)).toString('base64url');

function decodeCursor(text: string): Cursor {
  try {
    const c = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as Cursor;
    if (typeof c.ref === 'string' && c.ref) return c;
  } catch {
    // reported below
  }
  throw new Error(`bad transcript cursor ${JSON.stringify(text.slice(0, 80))}`);
}

/**
 * One page of the record, newest first: `limit` entries from `head` (or from the cursor a page
 * before returned). A cursor stays valid as the run goes on: nodes never change.
 */
export async function readChainPage(
  store: BlobStore,
  head: BlobRef | null,
  opts: { cursor?: string; limit: number },
  cache?: TranscriptCache,
): Promise<ChainPage> {
  if (!Number.isInteger(opts.limit) || opts.limit < 1)
    throw new Error(`bad page limit ${opts.limit}: a whole number of 1 or more`);
  const cursor = opts.cursor !== undefined ? decodeCursor(opts.cursor) : head ? { ref: head } : null;
  if (!cursor) return { entries: [], next: null };
  const newest: ChainEntry[] = [];
  let ref: BlobRef | null = cursor.ref;
  let start = false;
  while (ref && newest.length < opts.limit) {
    const node = await readNode(store, ref, cache);
    newest.push(entryOf(ref, node));
    start = isStart(node);
    ref = earlierOf(node);
  }
  const entries = newest.reverse();
  numberEntries(entries, start, cursor.newer);
  const oldest = entries[0]!;
  return {
    entries: entries.reverse(),
    next: ref
      ? encodeCursor({
          ref,
          ...(oldest.turn !== null ? { newer: { role: oldest.message.role, turn: oldest.turn } } : {}),
        })
      : null,
  };
}

/** The whole record, oldest first. */
export async function readChain(
  store: BlobStore,
  head: BlobRef | null,
  cache?: TranscriptCache,
): Promise<ChainEntry[]> {
  const newest: ChainEntry[] = [];
  let start = false;
  for (let ref = head; ref;) {
    const node = await readNode(store, ref, cache);
    newest.push(entryOf(ref, node));
    start = isStart(node);
    ref = earlierOf(node);
  }
  const entries = newest.reverse();
  numberEntries(entries, start);
  return entries;
}

/** Each turn's tokens and cost, oldest first, for a chart; turns recorded before usage was have none. */
export async function turnSeries(
  store: BlobStore,
  head: BlobRef | null,
  cache?: TranscriptCache,
): Promise<TurnPoint[]> {
  const points = new Map<number, TurnPoint>();
  for (const { turn, usage } of await readChain(store, head, cache)) {
    if (turn === null || !usage) continue;
    const p = points.get(turn) ?? {
      turn,
      inputTokens: 0,
      outputTokens: 0,
      cacheReadTokens: 0,
      cacheWriteTokens: 0,
      costNanos: 0,
    };
    p.inputTokens += usage.inputTokens;
    p.outputTokens += usage.outputTokens;
    p.cacheReadTokens += usage.cacheReadTokens;
    p.cacheWriteTokens += usage.cacheWriteTokens;
    p.costNanos = p.costNanos !== null && usage.costNanos !== undefined ? p.costNanos + usage.costNanos : null;
    points.set(turn, p);
  }
  return [...points.values()].sort((a, b) => a.turn - b.turn);
}

/** Each compaction's summary with the turn it was made in, oldest first: for the console's compaction log. */
export async function compactionSummaries(
  store: BlobStore,
  head: BlobRef | null,
  cache?: TranscriptCache,
): Promise<{ turn: number | null; summary: string }[]> {
  return (await readChain(store, head, cache)).flatMap(({ turn, message, compaction }) => {
    const first = compaction && Array.isArray(message.content) ? message.content[0] : undefined;
    return first?.type === 'compaction' && typeof first.content === 'string' ? [{ turn, summary: first.content }] : [];
  });
}
