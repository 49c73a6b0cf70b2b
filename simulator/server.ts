import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { errorBody, SimError } from './errors.js';
import { FaultQueue, type ActiveFault, type ApiRoute, type Fault } from './faults.js';
import { requestId } from './ids.js';
import { countTokens, createMessage } from './responder.js';
import { formatSse, messageEvents } from './sse.js';
import { parseBetas, validateRequest } from './validate.js';

export type { Fault } from './faults.js';

export interface SimulatorOptions {
  port?: number;
  host?: string;
  /** Delay before every API reply, to make model calls take time. */
  latencyMs?: number;
  /** HMAC key of compaction signatures. */
  secret?: string;
  /** Above this many estimated tokens of visible context, replies stop with `model_context_window_exceeded`. */
  contextWindowTokens?: number;
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
}

export interface Simulator {
  url: string;
  port: number;
  close(): Promise<void>;
  injectFaults(faults: Fault[]): void;
  /** Answers the requests a `hold` fault keeps waiting and drops the faults still queued. */
  release(): void;
  stats(): SimStats;
}

/** The real API caps request bodies at 32 MB. */
const MAX_BODY_BYTES = 32 * 1024 * 1024;
const DEFAULT_SECRET = 'longhaul-simulator';

const FaultsRequest = z.object({ faults: z.array(z.unknown()) }).strict();

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
  const faults = new FaultQueue();
  const stats: SimStats = { requests: 0, messages: 0, compactions: 0, maxVisibleInputTokens: 0, faultsServed: 0 };
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
    const fault = path.startsWith('/v1/') ? faults.take(route) : null;
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
    const request = validateRequest(parseJson(body), betas, secret, { requireMaxTokens: route === 'messages' });
    if (route === 'count_tokens') return sendJson(res, 200, countTokens(request), headers);

    const reply = createMessage(request, secret, fault?.contextWindowExceeded ? 0 : contextWindowTokens);
    stats.messages += 1;
    stats.compactions += reply.compacted ? 1 : 0;
    stats.maxVisibleInputTokens = Math.max(stats.maxVisibleInputTokens, reply.visibleInputTokens);
    if (!request.stream) return sendJson(res, 200, reply.message, headers);
    res.writeHead(200, { ...headers, 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.end(messageEvents(reply.message).map(formatSse).join(''));
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
    let rid = requestId(path, '');
    try {
      const body = await readBody(req);
      // Retries of one request differ only in the SDK's retry count: give each attempt its own id.
      rid = requestId(path, `${String(req.headers['x-stainless-retry-count'] ?? '')}\n${body}`);
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
  };
}
