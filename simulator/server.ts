import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { modelSpec } from '../common/models.js';
import { PromptCache } from './cache.js';
import { errorBody, overloadedBody, SimError } from './errors.js';
import { FaultQueue, type ActiveFault, type ApiRoute, type Fault } from './faults.js';
import { holdQuery, OverlapProbe, type Overlap } from './overlap.js';
import { requestId } from './ids.js';
import type { Usage } from './protocol.js';
import { countTokens, createMessage } from './responder.js';
import { formatSse, messageEvents, type SseEvent } from './sse.js';
import { ThreadStore } from './threads.js';
import { parseBetas, validateRequest } from './validate.js';

export type { Fault } from './faults.js';

export interface SimulatorOptions {
  port?: number;
  host?: string;
  /** Delay before every API reply, to make model calls take time. */
  latencyMs?: number;
  /** HMAC key of compaction signatures. */
  secret?: string;
  /**
   * Above this many estimated tokens of visible context, replies stop with `model_context_window_exceeded`.
   * Defaults to the requested model's context window.
   */
  contextWindowTokens?: number;
  /** The clock (ms) prompt-cache entries expire on; `advanceClock` moves it further. Default Date.now. */
  now?: () => number;
  /** How many of the latest API requests `requests()` keeps. Default 50. */
  keepRequests?: number;
}

export interface SimStats {
  /** API requests received (everything but the /__sim admin routes). */
  requests: number;
  /** /v1/messages requests answered with a message. */
  messages: number;
  compactions: number;
  /** The largest visible context seen, in estimated tokens: what compaction keeps bounded. */
  maxVisibleInputTokens: number;
  faultsServed: number;
  /**
   * Input billed over every answered message, summed over its iterations (compaction passes
   * included): uncached, read from the prompt cache, and written to it (5m and 1h together).
   */
  inputTokens: number;
  cacheReadInputTokens: number;
  cacheCreationInputTokens: number;
}

/** An API request as it arrived: its path and its JSON body (unparsable bodies are not kept). */
export interface SeenRequest {
  path: string;
  body: unknown;
}

export interface Simulator {
  url: string;
  port: number;
  close(): Promise<void>;
  injectFaults(faults: Fault[]): void;
  /** Answers the requests a `hold` fault keeps waiting and drops the faults still queued. */
  release(): void;
  stats(): SimStats;
  /** Moves the simulator's clock forward: prompt-cache entries expire on it. */
  advanceClock(ms: number): void;
  /** The latest API requests, oldest first (at most `keepRequests`). */
  requests(): SeenRequest[];
  /** The holds of a key (`GET /__sim/hold`): how many were in flight at once (simulator/overlap.ts). */
  overlap(key: string): Overlap;
}

/** The real API caps request bodies at 32 MB. */
const MAX_BODY_BYTES = 32 * 1024 * 1024;
const DEFAULT_SECRET = 'longhaul-simulator';

const FaultsRequest = z.object({ faults: z.array(z.unknown()) }).strict();
const ClockRequest = z.object({ advanceMs: z.number().int().nonnegative() }).strict();

/** What a reply bills for input: its iterations' sum, or the top level when it has none. */
function billedInput(
  usage: Usage,
): Pick<SimStats, 'inputTokens' | 'cacheReadInputTokens' | 'cacheCreationInputTokens'> {
  const parts = usage.iterations ?? [usage];
  const sum = (field: 'input_tokens' | 'cache_read_input_tokens' | 'cache_creation_input_tokens') =>
    parts.reduce((total, part) => total + part[field], 0);
  return {
    inputTokens: sum('input_tokens'),
    cacheReadInputTokens: sum('cache_read_input_tokens'),
    cacheCreationInputTokens: sum('cache_creation_input_tokens'),
  };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new SimError(413, `request body exceeds ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Whether a body asks for a stream, read leniently: faults are chosen before the body is validated. */
function asksForStream(body: string): boolean {
  try {
    return (JSON.parse(body) as { stream?: unknown } | null)?.stream === true;
  } catch {
    return false;
  }
}

function parseJson(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    throw new SimError(400, 'request body is not valid JSON');
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string>): void {
  res.writeHead(status, { ...headers, 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

const routeOf = (path: string): ApiRoute =>
  path === '/v1/messages' ? 'messages' : path === '/v1/messages/count_tokens' ? 'count_tokens' : 'other';

export async function startSimulator(opts: SimulatorOptions = {}): Promise<Simulator> {
  const { port = 0, host = '127.0.0.1', latencyMs = 0, secret = DEFAULT_SECRET, contextWindowTokens } = opts;
  const { now = Date.now, keepRequests = 50 } = opts;
  const faults = new FaultQueue();
  const probe = new OverlapProbe();
  const threads = new ThreadStore();
  let clockOffset = 0;
  const advanceClock = (ms: number) => {
    clockOffset += ms;
  };
  const cache = new PromptCache(() => now() + clockOffset);
  const seen: SeenRequest[] = [];
  const stats: SimStats = {
    requests: 0,
    messages: 0,
    compactions: 0,
    maxVisibleInputTokens: 0,
    faultsServed: 0,
    inputTokens: 0,
    cacheReadInputTokens: 0,
    cacheCreationInputTokens: 0,
  };
  const held = new Set<() => void>();
  const release = () => {
    faults.clear();
    for (const answer of held) answer();
    held.clear();
  };

  async function serveApi(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    body: string,
    rid: string,
  ): Promise<void> {
    stats.requests += 1;
    const headers = { 'request-id': rid };
    const route = routeOf(path);
    const fault = path.startsWith('/v1/') ? faults.take(route, asksForStream(body)) : null;
    if (fault) stats.faultsServed += 1;
    const wait = latencyMs + (fault?.delayMs ?? 0);
    if (wait > 0) await sleep(wait);
    if (fault?.hold) await new Promise<void>((resolve) => held.add(resolve));
    if (fault?.dropConnection) {
      req.socket.destroy();
      return;
    }
    if (fault?.status !== undefined) return sendFault(res, fault, rid);

    if (req.method !== 'POST' || route === 'other') {
      throw new SimError(404, `${req.method} ${path} is not a route of this API`);
    }
    const betas = parseBetas(req.headers['anthropic-beta']);
    const json = parseJson(body);
    seen.push({ path, body: json });
    if (seen.length > keepRequests) seen.shift();
    const expanded = threads.expand(json, betas);
    const request = validateRequest(expanded, betas, secret, route);
    if (route === 'count_tokens') return sendJson(res, 200, countTokens(request), headers);

    // A contextWindowExceeded fault: a window nothing fits in, for this request alone.
    const contextWindow = fault?.contextWindowExceeded
      ? 0
      : (contextWindowTokens ?? modelSpec(request.model)!.contextWindow);
    const reply = createMessage(request, secret, cache, contextWindow, { pauseTurn: fault?.pauseTurn === true });
    threads.record(expanded, reply.message);
    stats.messages += 1;
    stats.compactions += reply.compacted ? 1 : 0;
    stats.maxVisibleInputTokens = Math.max(stats.maxVisibleInputTokens, reply.visibleInputTokens);
    const billed = billedInput(reply.message.usage);
    stats.inputTokens += billed.inputTokens;
    stats.cacheReadInputTokens += billed.cacheReadInputTokens;
    stats.cacheCreationInputTokens += billed.cacheCreationInputTokens;
    if (!request.stream) return sendJson(res, 200, reply.message, headers);
    res.writeHead(200, { ...headers, 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    const events = messageEvents(reply.message, { compactionWhole: request.summarize });
    await sendStream(res, events, fault, rid);
  }

  /** The events of a streamed reply, or the first N of them and then an error event or a cut socket. */
  async function sendStream(
    res: ServerResponse,
    events: SseEvent[],
    fault: ActiveFault | null,
    rid: string,
  ): Promise<void> {
    const errorAfter = fault?.streamErrorAfterEvents;
    const cutAfter = fault?.cutStreamAfterEvents;
    if (errorAfter !== undefined) {
      const error = { event: 'error', data: overloadedBody(rid) };
      return void res.end([...events.slice(0, errorAfter), error].map(formatSse).join(''));
    }
    if (cutAfter === undefined) return void res.end(events.map(formatSse).join(''));
    // Flush what was sent before the cut, so the client has parsed it when the socket dies.
    await new Promise<void>((resolve) => res.write(events.slice(0, cutAfter).map(formatSse).join(''), () => resolve()));
    res.socket?.destroy();
  }

  function sendFault(res: ServerResponse, fault: ActiveFault, rid: string): void {
    const status = fault.status!;
    const error = new SimError(status, `simulated fault: HTTP ${status}`, fault.errorCode, fault.errorType);
    const body = fault.body !== undefined ? fault.body : errorBody(error, rid);
    sendJson(res, status, body, { 'request-id': rid, ...fault.headers });
  }

  /** Admin routes, so a simulator in another process can be steered and watched. */
  async function serveAdmin(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    body: string,
    rid: string,
  ): Promise<void> {
    const headers = { 'request-id': rid };
    if (req.method === 'GET' && path === '/__sim/stats') return sendJson(res, 200, stats, headers);
    if (req.method === 'GET' && path === '/__sim/requests') return sendJson(res, 200, { requests: seen }, headers);
    if (req.method === 'GET' && (path === '/__sim/hold' || path === '/__sim/overlap')) {
      const params = new URL(req.url ?? '/', 'http://simulator').searchParams;
      if (path === '/__sim/overlap') {
        const key = params.get('key');
        if (!key) throw new SimError(400, 'overlap: key= is missing');
        return sendJson(res, 200, probe.overlap(key), headers);
      }
      const hold = holdQuery(params);
      if (typeof hold === 'string') throw new SimError(400, hold);
      return sendJson(res, 200, await probe.hold(hold.key, hold.ms, hold.label), headers);
    }
    if (req.method === 'POST' && path === '/__sim/clock') {
      const parsed = ClockRequest.safeParse(parseJson(body));
      if (!parsed.success) throw new SimError(400, 'expected {"advanceMs": N} with N a non-negative integer');
      advanceClock(parsed.data.advanceMs);
      return sendJson(res, 200, { now: now() + clockOffset }, headers);
    }
    if (req.method === 'POST' && path === '/__sim/release') {
      release();
      return sendJson(res, 200, {}, headers);
    }
    if (req.method === 'POST' && path === '/__sim/faults') {
      const parsed = FaultsRequest.safeParse(parseJson(body));
      if (!parsed.success) throw new SimError(400, 'expected {"faults": [...]}');
      try {
        faults.push(parsed.data.faults as Fault[]);
      } catch (err) {
        throw new SimError(400, err instanceof z.ZodError ? z.prettifyError(err) : String(err));
      }
      return sendJson(res, 200, { queued: parsed.data.faults.length }, headers);
    }
    throw new SimError(404, `${req.method} ${path} is not a route of this simulator`);
  }

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://simulator').pathname;
    // Every request gets its own id, retries and identical requests too, as on the real API.
    const rid = requestId();
    try {
      const body = await readBody(req);
      await (path.startsWith('/__sim/') ? serveAdmin : serveApi)(req, res, path, body, rid);
    } catch (err) {
      const error = err instanceof SimError ? err : new SimError(500, `simulator failure: ${String(err)}`);
      if (!res.headersSent && !res.destroyed) sendJson(res, error.status, errorBody(error, rid), { 'request-id': rid });
    }
  }

  const server = createServer((req, res) => void serve(req, res));

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const { port: boundPort } = server.address() as AddressInfo;
  const hostInUrl = host.includes(':') ? `[${host}]` : host;

  return {
    url: `http://${hostInUrl}:${boundPort}`,
    port: boundPort,
    close: () =>
      new Promise<void>((resolve, reject) => {
        release();
        server.close((err) => (err ? reject(err) : resolve()));
        // Keep-alive sockets of SDK clients would otherwise hold close() open.
        server.closeAllConnections();
      }),
    injectFaults: (list) => faults.push(list),
    release,
    stats: () => ({ ...stats }),
    advanceClock,
    requests: () => [...seen],
    overlap: (key) => probe.overlap(key),
  };
}
