import Anthropic from '@anthropic-ai/sdk';

/** A request body as sent, loosely typed: tests read its tools, system, messages and breakpoints. */
export interface RequestBody {
  tools?: unknown[];
  system?: unknown;
  messages: { role: string; content: string | Record<string, unknown>[] }[];
  [key: string]: unknown;
}

export interface Breakpoint {
  where: string;
  ttl: string;
  /** Blocks of the request before this one, in the API's order (tools, system, messages): where it sits. */
  position: number;
}

/** Every block of a request in the order the cached prefix reads it, each with a path naming it. */
export function blocksInOrder(body: RequestBody): { where: string; block: Record<string, unknown> }[] {
  const out: { where: string; block: Record<string, unknown> }[] = [];
  (body.tools ?? []).forEach((t, i) => out.push({ where: `tools.${i}`, block: t as Record<string, unknown> }));
  if (Array.isArray(body.system))
    body.system.forEach((b, i) => out.push({ where: `system.${i}`, block: b as Record<string, unknown> }));
  body.messages.forEach((m, i) => {
    if (Array.isArray(m.content))
      m.content.forEach((b, j) => out.push({ where: `messages.${i}.content.${j}`, block: b }));
  });
  return out;
}

export function breakpointsOf(body: RequestBody): Breakpoint[] {
  return blocksInOrder(body).flatMap(({ where, block }, position) => {
    const control = block.cache_control as { ttl?: string } | undefined | null;
    return control ? [{ where, ttl: control.ttl ?? '5m', position }] : [];
  });
}

/** The value with every cache_control removed: the API matches a cached prefix on content, not on breakpoints. */
export function withoutCacheControl(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutCacheControl);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).flatMap(([k, v]) => (k === 'cache_control' ? [] : [[k, withoutCacheControl(v)]])),
  );
}

/**
 * The bytes of a request's prefix through the block at `path` (`messages.I.content.J`), as the
 * cache compares them: tools, system, the messages before, the message's blocks through that one.
 */
export function prefixBytes(body: RequestBody, path: string): string {
  const [, i, , j] = path.split('.').map(Number) as [number, number, number, number];
  const message = body.messages[i]!;
  const blocks = (message.content as unknown[]).slice(0, j + 1);
  return JSON.stringify(
    withoutCacheControl([body.tools, body.system, body.messages.slice(0, i), { ...message, content: blocks }]),
  );
}

/** An SDK client for the simulator that keeps the body of every /v1/messages request it sends. */
export function recordingClient(baseURL: string): { anthropic: Anthropic; bodies: RequestBody[] } {
  const bodies: RequestBody[] = [];
  const anthropic = new Anthropic({
    apiKey: 'simulator',
    baseURL,
    maxRetries: 0,
    timeout: 10 * 60 * 1000,
    fetch: (url, init) => {
      const href = typeof url === 'string' ? url : url instanceof URL ? url.href : url.url;
      if (href.endsWith('/v1/messages') && typeof init?.body === 'string')
        bodies.push(JSON.parse(init.body) as RequestBody);
      return fetch(url, init);
    },
  });
  return { anthropic, bodies };
}
