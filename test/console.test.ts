/**
 * `longhaul console` in a real headless Chromium (Debian's /usr/bin/chromium) against a dev
 * server, the simulator and a worker. Screenshots go to .longhaul/screenshots/ (docs/console.md).
 */
import type { WorkflowHandle } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import { mkdir } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineAgent } from '../agents/define.js';
import { startRun } from '../client/connect.js';
import { startConsole, type ConsoleServer } from '../client/console/index.js';
import { escalationQuery, type AgentRunWorkflow } from '../common/messages.js';
import { DirectoryStore } from '../store/directory-store.js';
import { deploys, deployTool } from './helpers/deploy-tool.js';
import { useHarness } from './helpers/harness.js';

const ops = defineAgent({ name: 'ops', systemPrompt: 'You deploy releases.', tools: [deployTool] });
const h = useHarness();
const shots = fileURLToPath(new URL('../.longhaul/screenshots/', import.meta.url));
const token = 'console-test-token-0123456789';
let worker: Worker;
let running: Promise<void>;
let server: ConsoleServer;
let browser: Browser;
let seq = 0;

const calls = (...list: [string, unknown][]) => `[sim:calls] ${JSON.stringify(list)}`;

/** A run whose prod deploy waits for a person's approval (esc-1). */
async function waitingRun(): Promise<{ handle: WorkflowHandle<AgentRunWorkflow>; workspace: string }> {
  const workspace = join(h.dir, `ws-${++seq}`);
  await mkdir(workspace, { recursive: true });
  const handle = await startRun(
    h.env.client,
    { task: calls(['deploy', { target: 'prod', version: String(seq) }]), workspace, agent: 'ops' },
    { taskQueue: h.taskQueue, workflowId: `console-test-${seq}-${Date.now()}` },
  );
  while ((await handle.query(escalationQuery))?.id !== 'esc-1') await sleep(100);
  return { handle, workspace };
}

async function signedIn(): Promise<Page> {
  const page = await (await browser.newContext({ viewport: { width: 1200, height: 900 } })).newPage();
  await page.goto(`${server.url}/?token=${token}`);
  return page;
}

const shot = (page: Page, name: string) => page.screenshot({ path: join(shots, name), fullPage: true });

/** A raw request, with any Host header (fetch may not set one). */
function raw(path: string, headers: Record<string, string>, method = 'GET', body?: string) {
  const { hostname, port } = new URL(server.url);
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request({ hostname, port, path, method, headers }, (res) => {
      let text = '';
      res
        .on('data', (c: Buffer) => (text += c.toString()))
        .on('end', () => resolve({ status: res.statusCode!, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

beforeAll(async () => {
  await mkdir(shots, { recursive: true });
  worker = await h.startWorker({ agents: [ops] });
  running = worker.run();
  server = await startConsole({ client: h.env.client, store: new DirectoryStore(h.storeDir), token });
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium' });
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  if (worker.getState() === 'RUNNING') worker.shutdown();
  await running;
});

describe('longhaul console', () => {
  it('lists runs, opens a waiting run, shows the question, approves the held call and watches the run complete', async () => {
    const { handle, workspace } = await waitingRun();
    const page = await signedIn();
    // The token left the address at once: it is in an HttpOnly cookie, not in the page or its URL.
    expect(page.url()).toBe(`${server.url}/`);
    expect(await page.content()).not.toContain(token);
    const row = page.locator(`tr[data-run="${handle.workflowId}"]`);
    await expect.poll(() => row.textContent()).toContain('awaiting_human');
    expect(await row.textContent()).toContain('Approve deploy target="prod" version="1"?');
    expect(await row.textContent()).toMatch(/\d+ of 500/);
    await shot(page, 'console-list.png');

    await row.locator('a').click();
    await page.waitForURL(`**/runs/${handle.workflowId}`);
    const question = page.locator('#question');
    await question.waitFor();
    expect(await question.textContent()).toBe(
      `Approve deploy target="prod" version="1"?\nrelease 1 goes to prod\nbuilt from ${workspace}`,
    );
    expect(await page.locator('.links a').first().getAttribute('href')).toMatch(
      new RegExp(`^http://localhost:8233/namespaces/default/workflows/${handle.workflowId}/[0-9a-f-]{36}/history$`),
    );
    await shot(page, 'console-waiting.png');

    await page.getByRole('button', { name: 'approve', exact: true }).click();
    await page.locator('p.sent').waitFor();
    expect(await page.locator('p.sent').textContent()).toBe(`approve sent for esc-1 of ${handle.workflowId}`);
    // The live events end with the run; the page then shows the result.
    await page.locator('#report').waitFor();
    expect(await page.locator('#report').textContent()).toBe('deploy ok: deployed 1 to prod');
    expect(await page.locator('#status').textContent()).toBe('completed');
    expect(await page.locator('section', { hasText: 'Escalations' }).locator('tbody tr').textContent()).toContain(
      'approve',
    );
    // The whole record, newest first, with turn numbers; the chart drew the store's per-turn figures.
    await expect
      .poll(() => page.locator('.transcript .message b').allTextContents())
      .toEqual(['assistant, turn 2', 'user, turn 2', 'assistant, turn 1', 'user, turn 1']);
    expect(await page.locator('.chart canvas').count()).toBe(1);
    await shot(page, 'console-completed.png');

    const result = await handle.result();
    expect(result.escalations.map((e) => [e.id, e.outcome.decision, e.outcome.by])).toEqual([
      ['esc-1', 'approve', expect.stringMatching(/^console:/)],
    ]);
    expect(await deploys(workspace)).toEqual(['1 prod']);
  });

  it('refuses a bad answer with the run’s reason and leaves the run waiting', async () => {
    const { handle } = await waitingRun();
    const page = await signedIn();
    await page.goto(`${server.url}/runs/${handle.workflowId}`);
    await page.locator('#question').waitFor();
    await page.getByRole('button', { name: 'reply', exact: true }).click();
    await page.locator('p.refusal').waitFor();
    expect(await page.locator('p.refusal').textContent()).toBe(
      'refused: reply does not answer a tool_approval escalation; use approve, deny, stop',
    );
    await page.getByRole('button', { name: 'deny', exact: true }).click();
    await expect
      .poll(() => page.locator('p.refusal').textContent())
      .toBe('refused: deny needs a message: the model is told why');
    await shot(page, 'console-refused.png');
    expect((await handle.query(escalationQuery))?.id).toBe('esc-1');
    expect((await handle.describe()).status.name).toBe('RUNNING');

    // With no worker polling, the page still shows the run from its memo and says what it cannot do.
    worker.shutdown();
    await running;
    await page.reload();
    await page.locator('p.note').first().waitFor();
    expect(await page.locator('p.note').first().textContent()).toBe(
      'no worker is polling: live figures from the memo; answering needs a worker',
    );
    expect(await page.locator('#question').textContent()).toContain('Approve deploy target="prod" version="2"?');
    // Answering needs a worker: the console says so rather than leave an update waiting.
    const refused = await page.evaluate(async (runId) => {
      const { csrf } = (await (await fetch('/api/session')).json()) as { csrf: string };
      const res = await fetch(`/api/runs/${runId}/answer`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-longhaul-csrf': csrf },
        body: JSON.stringify({ escalationId: 'esc-1', decision: 'approve' }),
      });
      return { status: res.status, body: await res.json() };
    }, handle.workflowId);
    expect(refused).toEqual({
      status: 503,
      body: { error: 'refused: no worker is polling: live figures from the memo; answering needs a worker' },
    });
    await shot(page, 'console-no-worker.png');
    await page.goto(`${server.url}/`);
    const row = page.locator(`tr[data-run="${handle.workflowId}"]`);
    await expect.poll(() => row.textContent()).toContain('awaiting_human');
  });

  it('refuses a request without the token, with a wrong one, from another Host, or a POST without the CSRF header', async () => {
    const page = await (await browser.newContext()).newPage();
    const res = await page.goto(`${server.url}/`);
    expect(res?.status()).toBe(401);
    expect(await page.textContent('body')).toContain('this console needs its token');
    await shot(page, 'console-no-token.png');
    expect((await page.goto(`${server.url}/api/runs`))?.status()).toBe(401);
    expect((await page.goto(`${server.url}/?token=wrong-token-0123456789`))?.status()).toBe(401);

    const host = new URL(server.url).host;
    const auth = { authorization: `Bearer ${token}` };
    expect((await raw('/api/runs', { ...auth, host })).status).toBe(200);
    // The list's filters reach visibility: the first test's run by id prefix and status.
    const listed = async (q: string) =>
      (
        JSON.parse((await raw(`/api/runs?${q}`, { ...auth, host })).body) as { runs: { workflowId: string }[] }
      ).runs.map((r) => r.workflowId.split('-').slice(0, 3).join('-'));
    expect(await listed('prefix=console-test-1-')).toEqual(['console-test-1']);
    expect(await listed('status=completed')).toEqual(['console-test-1']);
    expect(await listed('status=awaiting_human')).toEqual(['console-test-2']);
    expect((await raw('/api/runs?status=bogus', { ...auth, host })).status).toBe(400);
    // DNS rebinding: the right token, but the page's own name in Host.
    expect(await raw('/api/runs', { ...auth, host: 'evil.example' })).toMatchObject({ status: 421 });
    const post = (headers: Record<string, string>) =>
      raw('/api/runs/x/answer', { ...auth, host, 'content-type': 'application/json', ...headers }, 'POST', '{}');
    expect((await post({})).body).toContain('x-longhaul-csrf header is missing or wrong');
    expect((await post({ origin: 'http://evil.example' })).body).toContain(
      'requests from http://evil.example are refused',
    );
    const csrf = (JSON.parse((await raw('/api/session', { ...auth, host })).body) as { csrf: string }).csrf;
    expect(await post({ 'x-longhaul-csrf': csrf, 'sec-fetch-site': 'cross-site' })).toMatchObject({ status: 403 });
    expect(await post({ 'x-longhaul-csrf': csrf })).toMatchObject({ status: 400 });
  });
});
