/**
 * `longhaul console`: a web console for the runs of a namespace, on loopback. Hono serves it: a
 * small, dependency-free router with cookies and server-sent events built in, on node:http
 * through @hono/node-server. The page is plain ES modules (preact + htm, uPlot for the chart)
 * served from node_modules, so installing builds nothing.
 *
 * Every request needs the token (docs/console.md): `?token=` once sets an HttpOnly, SameSite=Strict
 * cookie, or `Authorization: Bearer`. The Host header must name this machine (DNS rebinding);
 * answers are JSON POSTs with the session's CSRF header from the console's own origin.
 */
import { serve, type ServerType } from '@hono/node-server';
import { WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { Hono, type Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Decision } from '../../common/escalation.js';
import { progressQuery, stopRunUpdate, type AgentRunWorkflow } from '../../common/messages.js';
import type { BlobStore } from '../../store/index.js';
import { runIdProblem } from '../connect.js';
import { answer } from '../escalations.js';
import { UsageError } from '../run-flags.js';
import { readChainPage, turnSeries, compactionSummaries } from '../../store/chain.js';
import { TranscriptCache } from '../../store/transcript.js';
import { chainRuns, closedResult, heldInput, liveView, NO_WORKER, query, runState } from './run-view.js';
import { listReadablePage } from '../listing.js';
import { runsQuery } from '../runs-query.js';
import {
  credentialOf,
  crossSiteProblem,
  csrfToken,
  hostAllowed,
  sameSecret,
  TOKEN_COOKIE,
  CSRF_HEADER,
} from './security.js';

export interface ConsoleOptions {
  client: Client;
  store: BlobStore;
  /** The credential every request must carry. */
  token: string;
  /** Default 127.0.0.1 (loopback only). */
  host?: string;
  /** Default 0: a free port. */
  port?: number;
  /** The Temporal Web UI, for links to each run's history. */
  webUi?: string;
}

export interface ConsoleServer {
  url: string;
  close(): Promise<void>;
}

export const DEFAULT_WEB_UI = 'http://localhost:8233';
const POLL_MS = 1_000;
/** An accepted answer comes back within a workflow task; a worker that takes longer is stuck. */
const ANSWER_DEADLINE_MS = 30_000;
const PAGE_SIZE = 50;
const TRANSCRIPT_PAGE = 40;

const assets = join(dirname(fileURLToPath(import.meta.url)), 'assets');
const require = createRequire(import.meta.url);
/** A package's folder (its exports map hides the files the browser needs). */
function packageDir(name: string): string {
  const main = require.resolve(name);
  return main.slice(0, main.lastIndexOf(`/node_modules/${name}/`) + `/node_modules/${name}`.length);
}
/** The page's libraries, by the name the page loads them under; nothing else of node_modules is served. */
const VENDOR: Record<string, () => string> = {
  'preact.mjs': () => join(packageDir('preact'), 'dist/preact.mjs'),
  'hooks.mjs': () => join(packageDir('preact'), 'hooks/dist/hooks.mjs'),
  'htm.mjs': () => join(packageDir('htm'), 'dist/htm.module.js'),
  'uPlot.esm.js': () => join(packageDir('uplot'), 'dist/uPlot.esm.js'),
  'uPlot.min.css': () => join(packageDir('uplot'), 'dist/uPlot.min.css'),
};
const ASSETS = new Set(['app.js', 'style.css']);
const TYPES: Record<string, string> = { js: 'text/javascript', mjs: 'text/javascript', css: 'text/css' };

/** preact/hooks imports "preact": the import map names it (allowed by its hash in the CSP, no inline script else). */
const IMPORT_MAP = JSON.stringify({ imports: { preact: '/vendor/preact.mjs', 'preact/hooks': '/vendor/hooks.mjs' } });
const CSP = [
  "default-src 'none'",
  `script-src 'self' 'sha256-${createHash('sha256').update(IMPORT_MAP).digest('base64')}'`,
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');
/** The page holds no token, key or run data: it reads them through the API once the cookie is set. */
const SHELL = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>longhaul console</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/vendor/uPlot.min.css"><link rel="stylesheet" href="/assets/style.css">
<script type="importmap">${IMPORT_MAP}</script>
<script type="module" src="/assets/app.js"></script>
</head><body><div id="app">loading…</div></body></html>`;

const message = (err: unknown) => (err as Error).message.split('\n')[0]!;

export function consoleApp(opts: ConsoleOptions, where: () => { host: string; port: number }): Hono {
  const { client, store, token } = opts;
  const webUi = (opts.webUi ?? DEFAULT_WEB_UI).replace(/\/+$/, '');
  const namespace = client.options.namespace;
  const app = new Hono();

  app.use('*', async (c, next) => {
    const { host, port } = where();
    if (!hostAllowed(c.req.header('host'), host, port))
      return c.text('refused: the Host header must name this machine (localhost, 127.0.0.1 or [::1])\n', 421);
    const url = new URL(c.req.url);
    const given = url.searchParams.get('token');
    if (given !== null) {
      if (!sameSecret(given, token)) return c.text('refused: wrong console token\n', 401);
      // The token leaves the address at once, so it is neither kept in history nor sent on.
      c.header('set-cookie', `${TOKEN_COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/`);
      url.searchParams.delete('token');
      return c.redirect(`${url.pathname}${url.search}`, 303);
    }
    const credential = credentialOf({ authorization: c.req.header('authorization'), cookie: c.req.header('cookie') });
    if (!credential || !sameSecret(credential, token))
      return c.text('refused: this console needs its token: open the address it printed at start (…/?token=…)\n', 401);
    if (c.req.method !== 'GET') {
      const problem = crossSiteProblem(
        {
          origin: c.req.header('origin'),
          host: c.req.header('host'),
          'sec-fetch-site': c.req.header('sec-fetch-site'),
          csrf: c.req.header(CSRF_HEADER),
        },
        token,
      );
      if (problem) return c.json({ error: `refused: ${problem}` }, 403);
      if (!c.req.header('content-type')?.startsWith('application/json'))
        return c.json({ error: 'refused: an answer is a JSON body (content-type: application/json)' }, 415);
    }
    await next();
    c.header('content-security-policy', CSP);
    c.header('x-content-type-options', 'nosniff');
    c.header('referrer-policy', 'no-referrer');
    c.header('cache-control', 'no-store');
  });

  const shell = (c: Context) => c.html(SHELL);
  app.get('/', shell);
  app.get('/runs/:id', shell);
  const file = async (c: Context, path: string, name: string) =>
    c.body(await readFile(path), 200, { 'content-type': TYPES[name.split('.').pop()!] ?? 'application/octet-stream' });
  app.get('/assets/:name', (c) => {
    const name = c.req.param('name');
    return ASSETS.has(name) ? file(c, join(assets, name), name) : c.notFound();
  });
  app.get('/vendor/:name', (c) => {
    const path = VENDOR[c.req.param('name')];
    return path ? file(c, path(), c.req.param('name')) : c.notFound();
  });

  app.get('/api/session', (c) => c.json({ csrf: csrfToken(token), namespace, webUi }));

  app.get('/api/runs', async (c) => {
    let query: string;
    try {
      query = runsQuery({ status: c.req.query('status'), prefix: c.req.query('prefix') });
    } catch (err) {
      return c.json({ error: message(err) }, 400);
    }
    const next = c.req.query('next');
    const page = await listReadablePage(client, query, {
      pageSize: PAGE_SIZE,
      ...(next ? { nextPageToken: Buffer.from(next, 'base64url') } : {}),
    });
    return c.json({
      runs: page.runs,
      ...(page.nextPageToken ? { next: Buffer.from(page.nextPageToken).toString('base64url') } : {}),
    });
  });

  /** The run named in the path, its chain (newest first), or a response saying why not. */
  async function chainOf(c: Context) {
    const id = c.req.param('id')!;
    const problem = runIdProblem(id);
    if (problem) return { error: c.json({ error: problem }, 400) };
    const runs = await chainRuns(client, id);
    if (!runs[0]) return { error: c.json({ error: `no run ${id} in namespace ${namespace}` }, 404) };
    return { id, runs, latest: runs[0] };
  }
  const historyLink = (workflowId: string, runId: string) =>
    `${webUi}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}/${encodeURIComponent(runId)}/history`;

  app.get('/api/runs/:id', async (c) => {
    const chain = await chainOf(c);
    if (chain.error) return chain.error;
    const { latest } = chain;
    const [live, result] = await Promise.all([liveView(client, latest), closedResult(client, latest)]);
    const state = await runState(client, latest, result);
    const held = await heldInput(store, live.progress?.escalation ?? undefined).catch(
      (err) => `(cannot read the held input from the store: ${message(err)})`,
    );
    return c.json({
      workflowId: chain.id,
      runs: chain.runs.map((r) => ({ ...r, webUi: historyLink(r.workflowId, r.runId) })),
      ...(latest.unreadable ? { unreadable: latest.unreadable } : {}),
      live,
      ...(result ? { result } : {}),
      ...(state ? { state } : {}),
      ...(held !== undefined ? { heldInput: held } : {}),
    });
  });

  app.get('/api/runs/:id/events', async (c) => {
    const chain = await chainOf(c);
    if (chain.error) return chain.error;
    return streamSSE(c, async (stream) => {
      let closed = false;
      stream.onAbort(() => {
        closed = true;
      });
      for (let id = 0; !closed; id++) {
        const [latest] = await chainRuns(client, chain.id);
        if (!latest) break;
        const live = await liveView(client, latest);
        await stream.writeSSE({ event: 'live', id: String(id), data: JSON.stringify(live) });
        if (latest.temporalStatus !== 'RUNNING') {
          await stream.writeSSE({ event: 'closed', data: latest.temporalStatus });
          break;
        }
        await stream.sleep(POLL_MS);
      }
    });
  });

  /** Where the chain's transcript ends: in a closed run's result, else the progress query's (a worker's). */
  async function headOf(c: Context) {
    const chain = await chainOf(c);
    if (chain.error) return { error: chain.error };
    if (chain.latest.unreadable)
      return { error: c.json({ error: `cannot read ${chain.id}: ${chain.latest.unreadable}` }, 403) };
    const [live, result] = await Promise.all([liveView(client, chain.latest), closedResult(client, chain.latest)]);
    const head = result?.head ?? live.progress?.head;
    if (head === undefined)
      return { error: c.json({ error: `the transcript's place is in the progress query: ${NO_WORKER}` }, 503) };
    return { head };
  }
  // Nodes never change, so they are kept across requests (bounded by their characters).
  const nodes = new TranscriptCache(32 * 1024 * 1024);

  app.get('/api/runs/:id/transcript', async (c) => {
    const found = await headOf(c);
    if (found.error) return found.error;
    const cursor = c.req.query('cursor');
    try {
      return c.json(
        await readChainPage(store, found.head, { ...(cursor ? { cursor } : {}), limit: TRANSCRIPT_PAGE }, nodes),
      );
    } catch (err) {
      return c.json({ error: message(err) }, 400);
    }
  });

  app.get('/api/runs/:id/series', async (c) => {
    const found = await headOf(c);
    if (found.error) return found.error;
    // Both read the whole record; the second from the node cache the first filled.
    const points = await turnSeries(store, found.head, nodes);
    return c.json({ points, summaries: await compactionSummaries(store, found.head, nodes) });
  });

  const by = `console:${userInfo().username}`;
  /** Answers need a worker: without one an update would wait, and might land long after the page gave up. */
  async function workerAnswers(id: string): Promise<boolean> {
    const handle = client.workflow.getHandle<AgentRunWorkflow>(id);
    return (await query(client, () => handle.query(progressQuery))) !== undefined;
  }
  const send = async (c: Context, id: string, fn: () => Promise<string>) => {
    if (!(await workerAnswers(id))) return c.json({ error: `refused: ${NO_WORKER}` }, 503);
    try {
      return c.json({ sent: await client.connection.withDeadline(Date.now() + ANSWER_DEADLINE_MS, fn) });
    } catch (err) {
      if (err instanceof UsageError) return c.json({ error: err.message }, 409);
      if (err instanceof WorkflowUpdateFailedError)
        return c.json({ error: `refused: ${err.cause?.message ?? err.message}` }, 409);
      return c.json({ error: message(err) }, 502);
    }
  };

  app.post('/api/runs/:id/answer', async (c) => {
    const id = c.req.param('id');
    const problem = runIdProblem(id);
    if (problem) return c.json({ error: problem }, 400);
    const body = (await c.req.json().catch(() => null)) as Record<string, unknown> | null;
    if (!body || typeof body !== 'object') return c.json({ error: 'refused: the body is not a JSON object' }, 400);
    const decision = Decision.safeParse(body.decision);
    if (!decision.success)
      return c.json({ error: `refused: decision: expected one of ${Decision.options.join(', ')}` }, 400);
    const fields: Parameters<typeof answer>[3] = {};
    if (typeof body.escalationId === 'string') fields.escalationId = body.escalationId;
    if (typeof body.message === 'string' && body.message !== '') fields.message = body.message;
    for (const key of ['turns', 'tokens', 'usd'] as const) {
      const value = body[key];
      if (value === undefined || value === '' || value === null) continue;
      const n = Number(value);
      if (!Number.isFinite(n)) return c.json({ error: `refused: ${key}: expected a number` }, 400);
      fields[key] = n;
    }
    return send(c, id, () => answer(client, id, decision.data, { ...fields, by }));
  });

  app.post('/api/runs/:id/stop', async (c) => {
    const id = c.req.param('id');
    const problem = runIdProblem(id);
    if (problem) return c.json({ error: problem }, 400);
    const body = (await c.req.json().catch(() => ({}))) as { message?: unknown };
    const text = typeof body.message === 'string' && body.message.trim() ? { message: body.message } : {};
    return send(c, id, async () => {
      await client.workflow.getHandle<AgentRunWorkflow>(id).executeUpdate(stopRunUpdate, { args: [{ by, ...text }] });
      return `stop sent for ${id}`;
    });
  });

  app.onError((err, c) => c.json({ error: message(err) }, 500));
  return app;
}

export async function startConsole(opts: ConsoleOptions): Promise<ConsoleServer> {
  const host = opts.host ?? '127.0.0.1';
  let port = opts.port ?? 0;
  const app = consoleApp(opts, () => ({ host, port }));
  const server: ServerType = await new Promise((resolve, reject) => {
    const s = serve({ fetch: app.fetch, port, hostname: host }, () => resolve(s));
    s.once('error', reject);
  });
  port = (server.address() as AddressInfo).port;
  const shown = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  return {
    url: `http://${shown}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        (server as { closeAllConnections?: () => void }).closeAllConnections?.();
      }),
  };
}
