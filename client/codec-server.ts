/**
 * `longhaul codec-server`: the Temporal Web UI's remote codec protocol, so a person can read
 * encrypted payloads in the UI (or `temporal workflow show --codec-endpoint`) without the keys
 * ever leaving this machine. `POST /decode` and `POST /encode` take and answer
 * `{ payloads: [{ metadata: { key: base64 }, data: base64 }] }`.
 *
 * Run it next to the browser (loopback by default): whoever can reach it can decrypt.
 */
import type { Payload, PayloadCodec } from '@temporalio/common';
import { JSONToPayload, payloadToJSON, type JSONPayload } from '@temporalio/common/lib/proto-utils.js';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createEncryptionCodec, type Keyring } from '../config/codec.js';

export interface CodecServerOptions {
  codec: PayloadCodec;
  /** Default 8888; 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1 (loopback only). */
  host?: string;
  /** The Web UI's origin, allowed by CORS. Default http://localhost:8233 (the dev server's UI). */
  corsOrigin?: string;
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

function corsHeaders(origin: string): Record<string, string> {
  return {
    'access-control-allow-origin': origin,
    'access-control-allow-methods': 'POST, OPTIONS',
    'access-control-allow-headers': 'x-namespace, content-type',
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
    const path = new URL(req.url ?? '/', 'http://codec').pathname.replace(/\/+$/, '');
    if (req.method === 'OPTIONS') return send(204);
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

/** The `longhaul codec-server` command: serves until SIGINT/SIGTERM. */
export async function serveCodec(keyring: Keyring, opts: Omit<CodecServerOptions, 'codec'>): Promise<void> {
  const server = await startCodecServer({ ...opts, codec: createEncryptionCodec(keyring) });
  const origin = opts.corsOrigin ?? DEFAULT_CORS_ORIGIN;
  process.stderr.write(
    `longhaul codec server on ${server.url} (CORS origin ${origin}, keys ${keyring.ids.join(', ')}; current ${keyring.current.id})\n`,
  );
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await server.close();
}
