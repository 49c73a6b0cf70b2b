/**
 * `longhaul codec-server`: the Temporal Web UI's remote codec protocol, so a person can read
 * encrypted payloads in the UI (or `temporal workflow show --codec-endpoint`) without the keys
 * ever leaving this machine. `POST /decode` and `POST /encode` take and answer
 * `{ payloads: [{ metadata: { key: base64 }, data: base64 }] }`.
 *
 * Every request but a CORS preflight needs the server's token, as `Authorization: Bearer <token>`
 * (`temporal … --codec-auth "Bearer <token>"`) or, for the Web UI, which cannot send a header of
 * its own, as the cookie that `GET /login?token=<token>` sets in the browser (with the UI's
 * "Include cross-origin credentials"). Run it next to the browser (loopback by default).
 */
import type { Payload, PayloadCodec } from '@temporalio/common';
import { JSONToPayload, payloadToJSON, type JSONPayload } from '@temporalio/common/lib/proto-utils.js';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createEncryptionCodec, type Keyring } from '../config/codec.js';
import { MIN_CODEC_TOKEN_CHARS } from '../config/env.js';

export interface CodecServerOptions {
  codec: PayloadCodec;
  /** Default 8888; 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1 (loopback only). */
  host?: string;
  /** The Web UI's origin, allowed by CORS. Default http://localhost:8233 (the dev server's UI). */
  corsOrigin?: string;
  /** The credential every request must carry (`newCodecToken()` makes one). */
  token: string;
}

export interface CodecServer {
  url: string;
  server: Server;
  close(): Promise<void>;
}

export const DEFAULT_CODEC_PORT = 8888;
export const DEFAULT_CODEC_HOST = '127.0.0.1';
export const DEFAULT_CORS_ORIGIN = 'http://localhost:8233';
/** Payloads are at most a few MiB each in Temporal; this bounds a request, not a history. */
const MAX_BODY_BYTES = 64 * 1024 * 1024;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The cookie `GET /login` sets: the Web UI sends cookies (with credentials on), never a header of ours. */
const TOKEN_COOKIE = 'longhaul-codec-token';
export const newCodecToken = (): string => randomBytes(32).toString('base64url');

/** Equal without saying where they differ: both are hashed first, so neither length nor prefix leaks. */
function sameSecret(given: string, token: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(given), digest(token));
}

/** The credential a request carries: the bearer token, else the login cookie's value. */
function credentialOf(req: IncomingMessage): string | undefined {
  const bearer = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '');
  if (bearer) return bearer[1];
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === TOKEN_COOKIE) return value.join('=');
  }
  return undefined;
}

function corsHeaders(origin: string): Record<string, string> {
  return {
    'access-control-allow-origin': origin,
    'access-control-allow-methods': 'GET, POST, OPTIONS',
    'access-control-allow-headers': 'x-namespace, content-type, authorization',
    'access-control-max-age': '600',
    ...(origin === '*' ? {} : { 'access-control-allow-credentials': 'true', vary: 'Origin' }),
  };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, `request body above ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parsePayloads(body: string): Payload[] {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new HttpError(400, 'body is not JSON');
  }
  const payloads = (json as { payloads?: unknown } | null)?.payloads;
  if (!Array.isArray(payloads)) throw new HttpError(400, 'body must be {"payloads": [...]}');
  return payloads.map((p, i) => {
    if (typeof p !== 'object' || p === null) throw new HttpError(400, `payloads[${i}] is not an object`);
    try {
      return JSONToPayload(p as JSONPayload);
    } catch (err) {
      throw new HttpError(400, `payloads[${i}]: ${(err as Error).message}`);
    }
  });
}

export function startCodecServer(opts: CodecServerOptions): Promise<CodecServer> {
  if (opts.token.length < MIN_CODEC_TOKEN_CHARS)
    return Promise.reject(new Error(`the codec server's token must be at least ${MIN_CODEC_TOKEN_CHARS} characters`));
  const origin = opts.corsOrigin ?? DEFAULT_CORS_ORIGIN;
  const cors = corsHeaders(origin);

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const send = (status: number, body?: unknown) => {
      res.writeHead(status, { ...cors, ...(body === undefined ? {} : { 'content-type': 'application/json' }) });
      res.end(body === undefined ? undefined : JSON.stringify(body));
    };
    // A browser page from another origin gets nothing (CORS would hide the answer anyway, but
    // the codec should not even run for it).
    const from = req.headers.origin;
    if (from !== undefined && origin !== '*' && from !== origin)
      return send(403, { error: `origin ${from} is not allowed` });
    const url = new URL(req.url ?? '/', 'http://codec');
    const path = url.pathname.replace(/\/+$/, '');
    // A preflight carries no credentials (browsers never send them on one).
    if (req.method === 'OPTIONS') return send(204);
    if (path === '/login' && req.method === 'GET') {
      if (!sameSecret(url.searchParams.get('token') ?? '', opts.token)) return send(401, { error: 'wrong token' });
      res.writeHead(200, {
        ...cors,
        'content-type': 'text/plain',
        'set-cookie': `${TOKEN_COOKIE}=${opts.token}; HttpOnly; SameSite=Strict; Path=/`,
      });
      return void res.end('This browser can now use the codec server (with "Include cross-origin credentials").\n');
    }
    const credential = credentialOf(req);
    if (credential === undefined || !sameSecret(credential, opts.token)) {
      res.setHeader('www-authenticate', 'Bearer');
      return send(401, { error: 'the codec server needs its token: Authorization: Bearer <token>' });
    }
    if (path !== '/encode' && path !== '/decode') return send(404, { error: 'POST /encode or /decode' });
    if (req.method !== 'POST') return send(405, { error: 'POST /encode or /decode' });
    try {
      const payloads = parsePayloads(await readBody(req));
      const out = path === '/encode' ? await opts.codec.encode(payloads) : await opts.codec.decode(payloads);
      send(200, { payloads: out.map(payloadToJSON) });
    } catch (err) {
      if (err instanceof HttpError) return send(err.status, { error: err.message });
      // Codec errors (unknown key id, tampered payload) are the caller's data, not a crash.
      send(422, { error: (err as Error).message });
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, cors);
      res.end(JSON.stringify({ error: (err as Error).message }));
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? DEFAULT_CODEC_PORT, opts.host ?? DEFAULT_CODEC_HOST, () => {
      server.off('error', reject);
      const { address, port } = server.address() as AddressInfo;
      const host = address.includes(':') ? `[${address}]` : address;
      resolve({
        url: `http://${host}:${port}`,
        server,
        close: () =>
          new Promise<void>((done, fail) => {
            server.close((err) => (err ? fail(err) : done()));
            server.closeAllConnections();
          }),
      });
    });
  });
}

/**
 * The `longhaul codec-server` command: serves until SIGINT/SIGTERM. Without a token (from
 * LONGHAUL_CODEC_TOKEN) it makes one and prints it once, on stderr.
 */
export async function serveCodec(
  keyring: Keyring,
  opts: Omit<CodecServerOptions, 'codec' | 'token'> & { token?: string | undefined },
): Promise<void> {
  const token = opts.token ?? newCodecToken();
  const server = await startCodecServer({ ...opts, token, codec: createEncryptionCodec(keyring) });
  const origin = opts.corsOrigin ?? DEFAULT_CORS_ORIGIN;
  process.stderr.write(
    `longhaul codec server on ${server.url} (CORS origin ${origin}, keys ${keyring.ids.join(', ')}; current ${keyring.current.id})\n` +
      (opts.token
        ? 'token from LONGHAUL_CODEC_TOKEN\n'
        : `token (made for this start; set LONGHAUL_CODEC_TOKEN to choose one): ${token}\n`),
  );
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await server.close();
}
