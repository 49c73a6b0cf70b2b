import { createHash } from 'node:crypto';
import { invalidRequest } from './errors.js';
import { isRecord, type CacheTtl, type InputMessage } from './protocol.js';
import { tokensOfChars, unmarked } from './tokens.js';

/**
 * Prompt caching as the Messages API documents it. The prompt is a sequence of blocks in the order
 * tools, system, messages; a `cache_control` breakpoint on a block asks for the prefix up to and
 * including it to be cached. A later request whose prefix up to a block is byte-identical reads it
 * (an entry is found at the breakpoint or, looking back, at one of the positions before it), and
 * the breakpoints after what was read are written. Entries live 5 minutes or an hour after their
 * last use, on the simulator's clock, and belong to one model.
 */

export const TTL_MS: Readonly<Record<CacheTtl, number>> = { '5m': 5 * 60_000, '1h': 60 * 60_000 };

/** Breakpoints a request may carry, the top-level (automatic) one included. */
export const MAX_BREAKPOINTS = 4;

/** Positions looked up per breakpoint, the breakpoint's own counted first. */
export const LOOKBACK_BLOCKS = 20;

/** Content blocks that cannot carry a breakpoint, so automatic caching passes over them. */
const UNCACHEABLE_TYPES = new Set(['thinking', 'redacted_thinking']);

const CACHE_CONTROL_KEYS = new Set(['type', 'ttl']);

/** One position of the prefix: a tool definition, a system text block, or a content block of a message. */
export interface PrefixBlock {
  /** What the model reads at this position, as JSON: markers removed, its place (tools, system, a role) included. */
  key: string;
  /** The block's share of the serialized request the estimate measures. */
  chars: number;
  /** The breakpoint at this block, explicit or automatic. */
  breakpoint: CacheTtl | null;
}

/** Token counts of one model call's input; the four parts add up to the whole input. */
export interface CacheUsage {
  /** The uncached rest: what follows the last prefix read or written. */
  inputTokens: number;
  cacheReadInputTokens: number;
  /** Written to entries that live 5 minutes. */
  cacheWrite5mTokens: number;
  /** Written to entries that live an hour. */
  cacheWrite1hTokens: number;
}

const ttlOf = (marker: unknown): CacheTtl | null => (isRecord(marker) ? (marker.ttl === '1h' ? '1h' : '5m') : null);

/** A marker's TTL; null or absent is no breakpoint. Throws the API's 400 on a malformed one. */
function parseMarker(marker: unknown, where: string): CacheTtl | null {
  if (marker === undefined || marker === null) return null;
  if (!isRecord(marker)) throw invalidRequest(`${where}: Input should be a valid dictionary`);
  if (marker.type !== 'ephemeral') throw invalidRequest(`${where}.type: Input should be 'ephemeral'`);
  if (marker.ttl !== undefined && marker.ttl !== '5m' && marker.ttl !== '1h') {
    throw invalidRequest(`${where}.ttl: Input should be '5m' or '1h'`);
  }
  const extra = Object.keys(marker).find((key) => !CACHE_CONTROL_KEYS.has(key));
  if (extra) throw invalidRequest(`${where}.${extra}: Extra inputs are not permitted`);
  return ttlOf(marker);
}

/**
 * Every breakpoint of a request body in processing order (tools, system, messages, then the
 * top-level one, which lands on the last block), checked as the API checks them: at most four,
 * and no 1h breakpoint after a 5m one. Returns the top-level (automatic) breakpoint's TTL.
 * Blocks a compaction block makes the model ignore still count: the request carries them.
 */
export function validateCacheControl(body: Record<string, unknown>): CacheTtl | null {
  const found: CacheTtl[] = [];
  const note = (marker: unknown, where: string) => {
    const ttl = parseMarker(marker, where);
    if (ttl) found.push(ttl);
  };
  const blocksAt = (value: unknown, where: string, each: (block: Record<string, unknown>, at: string) => void) => {
    if (Array.isArray(value)) value.forEach((block, i) => isRecord(block) && each(block, `${where}.${i}`));
  };
  blocksAt(body.tools, 'tools', (tool, at) => note(tool.cache_control, `${at}.cache_control`));
  blocksAt(body.system, 'system', (block, at) => noteBlock(block, at, note));
  blocksAt(body.messages, 'messages', (message, at) =>
    blocksAt(message.content, `${at}.content`, (block, where) => {
      noteBlock(block, where, note);
      blocksAt(block.content, `${where}.content`, (inner, innerAt) => noteBlock(inner, innerAt, note));
    }),
  );
  const automatic = parseMarker(body.cache_control, 'cache_control');
  if (automatic) found.push(automatic);

  if (found.length > MAX_BREAKPOINTS) {
    throw invalidRequest(
      `A maximum of ${MAX_BREAKPOINTS} blocks with cache_control may be provided. Found ${found.length}.`,
    );
  }
  if (found.some((ttl, i) => ttl === '1h' && found.slice(0, i).includes('5m'))) {
    throw invalidRequest(
      "a ttl='1h' cache_control block must not come after a ttl='5m' cache_control block. " +
        'Note that blocks are processed in the following order: `tools`, `system`, `messages`.',
    );
  }
  return automatic;
}

function noteBlock(
  block: Record<string, unknown>,
  where: string,
  note: (marker: unknown, where: string) => void,
): void {
  const marker = block.cache_control;
  if (marker === undefined || marker === null) return;
  if (typeof block.type === 'string' && UNCACHEABLE_TYPES.has(block.type)) {
    throw invalidRequest(`${where}.${block.type}.cache_control: Extra inputs are not permitted`);
  }
  if (block.type === 'text' && block.text === '') {
    throw invalidRequest(`${where}: cache_control cannot be set for empty text blocks`);
  }
  note(marker, `${where}.cache_control`);
}

/** A block's breakpoint: its own, else one set on a block inside it (a tool_result's content). */
function breakpointOf(block: Record<string, unknown>): CacheTtl | null {
  const own = ttlOf(block.cache_control);
  if (own || !Array.isArray(block.content)) return own;
  return (
    (block.content as unknown[])
      .map((inner) => (isRecord(inner) ? ttlOf(inner.cache_control) : null))
      .findLast(Boolean) ?? null
  );
}

/**
 * The prompt as positions, tools then system then message blocks. Message blocks carry their role
 * and whether they open a turn, so the same block in another place is another prefix; consecutive
 * messages of one role read as one turn, as the API merges them. `automatic` is the top-level
 * breakpoint: it lands on the last block that can carry one, unless that block has its own.
 */
export function prefixBlocks(
  tools: unknown,
  system: unknown,
  messages: InputMessage[],
  automatic: CacheTtl | null,
): PrefixBlock[] {
  const blocks: PrefixBlock[] = [];
  // Each position counts its block's JSON plus the separators and wrappers around it (a message's
  // role and brackets go with its first block), so the positions add up to the serialization the
  // estimate measures and the uncached rest is only what follows the last breakpoint.
  const add = (place: unknown[], json: string, chars: number, breakpoint: CacheTtl | null) =>
    blocks.push({ key: `${JSON.stringify(place)}${json}`, chars, breakpoint });
  const jsonOf = (value: unknown) => JSON.stringify(unmarked(value));

  if (Array.isArray(tools)) {
    for (const tool of tools as unknown[]) {
      const json = jsonOf(tool);
      add(['tool'], json, json.length + 1, isRecord(tool) ? ttlOf(tool.cache_control) : null);
    }
  }
  if (typeof system === 'string') add(['system'], jsonOf({ type: 'text', text: system }), jsonOf(system).length, null);
  else if (Array.isArray(system)) {
    for (const block of system as Record<string, unknown>[]) {
      const json = jsonOf(block);
      add(['system'], json, json.length + 1, ttlOf(block.cache_control));
    }
  }
  let lastCacheable = -1;
  messages.forEach((message, m) => {
    const place = (b: number) => [message.role, b === 0 && (m === 0 || messages[m - 1]!.role !== message.role)];
    if (typeof message.content === 'string') {
      // The string shorthand is one text block to the cache, and its own JSON to the estimate.
      if (message.content !== '') lastCacheable = blocks.length;
      add(place(0), jsonOf({ type: 'text', text: message.content }), JSON.stringify(message).length + 1, null);
      return;
    }
    const wrapper = JSON.stringify({ ...message, content: [] }).length + message.content.length;
    message.content.forEach((block, b) => {
      if (!UNCACHEABLE_TYPES.has(block.type) && !(block.type === 'text' && block.text === '')) {
        lastCacheable = blocks.length;
      }
      const json = jsonOf(block);
      add(place(b), json, json.length + (b === 0 ? wrapper : 0), breakpointOf(block));
    });
  });
  if (automatic && lastCacheable >= 0) {
    const target = blocks[lastCacheable]!;
    target.breakpoint ??= automatic;
  }
  return blocks;
}

interface Entry {
  ttl: CacheTtl;
  expiresAt: number;
}

/**
 * The cache of one simulator: shared by every request it answers, as an organization's cache is,
 * and keyed by model and prefix hash. Time is the injected clock's, so a test can move it.
 */
export class PromptCache {
  readonly #entries = new Map<string, Entry>();

  constructor(private readonly now: () => number) {}

  /** Live entries, for tests and stats. */
  get size(): number {
    this.#sweep(this.now());
    return this.#entries.size;
  }

  /**
   * Serves one model call: reads the longest cached prefix its breakpoints can find (each looks
   * back over at most LOOKBACK_BLOCKS positions), refreshes the entries along what was read,
   * writes an entry at each breakpoint after it that reaches `minCacheableTokens`, and bills the
   * input as the docs do: read up to the hit (A), 1h write up to the last 1h breakpoint (B), 5m
   * write up to the last breakpoint (C), the rest uncached. `totalTokens` is the whole input's
   * estimate; the positions' tokens are the estimate of their characters.
   */
  use(model: string, blocks: PrefixBlock[], totalTokens: number, minCacheableTokens: number): CacheUsage {
    const now = this.now();
    this.#sweep(now);
    const keys: string[] = [];
    const tokens: number[] = [];
    let hash = '';
    let chars = 0;
    for (const block of blocks) {
      hash = createHash('sha256').update(hash).update(block.key).digest('hex');
      keys.push(`${model}\n${hash}`);
      chars += block.chars;
      tokens.push(tokensOfChars(chars));
    }
    const breakpoints = blocks.flatMap((block, i) => (block.breakpoint ? [i] : []));

    const hit = this.#longestHit(keys, breakpoints);
    for (let i = 0; i <= hit; i++) this.#refresh(keys[i]!, now);

    let written = -1;
    let lastHour = -1;
    for (const at of breakpoints) {
      if (at <= hit || tokens[at]! < minCacheableTokens) continue;
      const ttl = blocks[at]!.breakpoint!;
      this.#entries.set(keys[at]!, { ttl, expiresAt: now + TTL_MS[ttl] });
      written = at;
      if (ttl === '1h') lastHour = at;
    }
    const read = hit >= 0 ? tokens[hit]! : 0;
    const hourEnd = lastHour >= 0 ? tokens[lastHour]! : read;
    const end = written >= 0 ? tokens[written]! : read;
    return {
      inputTokens: totalTokens - end,
      cacheReadInputTokens: read,
      cacheWrite1hTokens: hourEnd - read,
      cacheWrite5mTokens: end - hourEnd,
    };
  }

  /** Drops every expired entry. */
  #sweep(now: number): void {
    for (const [key, entry] of this.#entries) if (entry.expiresAt <= now) this.#entries.delete(key);
  }

  /** The furthest position holding an entry that some breakpoint's lookback reaches, or -1. */
  #longestHit(keys: string[], breakpoints: number[]): number {
    for (const at of breakpoints.toReversed()) {
      for (let i = at; i >= 0 && i > at - LOOKBACK_BLOCKS; i--) if (this.#entries.has(keys[i]!)) return i;
    }
    return -1;
  }

  /** A read refreshes an entry's lifetime at no cost, as the docs say. */
  #refresh(key: string, now: number): void {
    const entry = this.#entries.get(key);
    if (entry) entry.expiresAt = now + TTL_MS[entry.ttl];
  }
}
