import { Client, WorkflowFailedError } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { Worker } from '@temporalio/worker';
import { execFile, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { EncryptedStore } from '../store/encrypted-store.js';
import { DirectoryStore } from '../store/directory-store.js';
import { refFor } from '../store/blob-store.js';
import { newCodecToken, startCodecServer } from '../client/codec-server.js';
import {
  createEncryptionCodec,
  decryptString,
  DecryptionError,
  encryptionDataConverter,
  encryptString,
  generateKey,
  KEY_ID_METADATA,
  Keyring,
  loadKeyring,
  parseKeyring,
  UnknownKeyError,
} from '../config/codec.js';
import { ConfigError } from '../config/env.js';
import { auditGroundTruth, auditReport, auditTask, writeAuditWorkspace } from '../simulator/scenarios/audit.js';
import { createAnthropic } from '../worker/create.js';
import { discardWorkflowSpans } from '../worker/telemetry.js';
import { RunOptionsError, startRun } from '../client/connect.js';
import { AGENT_RUN_WORKFLOW, progressQuery, respondUpdate, type AgentRunWorkflow } from '../common/messages.js';
import { wordCounter } from '../examples/word-count/agent.js';
import type { RunOptionsInput } from '../common/options.js';
import { startAudit, TRIGGER } from './helpers/audit-run.js';
import { useHarness } from './helpers/harness.js';

const bin = fileURLToPath(new URL('../bin/longhaul.mjs', import.meta.url));
const N = 5;
const expectedReport = auditReport(N, auditGroundTruth(N));
/** Text that only the conversation holds: a finding's detail (from a file, then in state and tool calls). */
const FINDING = auditGroundTruth(N)[0]!.detail;
const FILE_TEXT = 'Sample record 3 for the long-haul audit';

const keyOf = (id: string) => ({ id, key: randomBytes(32) });
const spec = (keys: { id: string; key: Buffer }[]) => keys.map((k) => `${k.id}:${k.key.toString('base64')}`).join(',');
const utf8 = (s: string) => new Uint8Array(Buffer.from(s));
const jsonPayload = (value: unknown): Payload => ({
  metadata: { encoding: utf8('json/plain') },
  data: utf8(JSON.stringify(value)),
});
const str = (b: Uint8Array | null | undefined) => Buffer.from(b ?? []).toString('utf8');

/**
 * Everything a history export says, payloads included: historyToJSON writes payload bytes as
 * base64, so a plain search of the JSON alone would miss plaintext; every base64-looking string
 * is decoded and searched too.
 */
function haystack(historyJson: string): string {
  const parts = [historyJson];
  const walk = (v: unknown) => {
    if (typeof v === 'string') {
      if (v.length >= 4 && /^[A-Za-z0-9+/]+={0,2}$/.test(v)) parts.push(Buffer.from(v, 'base64').toString('utf8'));
    } else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(JSON.parse(historyJson));
  return parts.join('\n');
}

/** How many payloads in a history export are `binary/encrypted`. */
function encryptedPayloadCount(historyJson: string): number {
  let count = 0;
  const walk = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      const enc = (v as { metadata?: { encoding?: unknown } }).metadata?.encoding;
      if (typeof enc === 'string' && Buffer.from(enc, 'base64').toString() === 'binary/encrypted') count++;
      Object.values(v).forEach(walk);
    }
  };
  walk(JSON.parse(historyJson));
  return count;
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath ?? (e as unknown as { path: string }).path, e.name));
}

function runCli(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { env: { ...process.env, ...env } }, (err, stdout, stderr) =>
      resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const auditOptions = (workspace: string, task = auditTask(N)): RunOptionsInput => ({
  task,
  workspace,
  maxTurns: N + 50,
  compaction: { trigger: TRIGGER },
  toolPolicies: { write_file: 'allow' },
});

const h = useHarness();

describe('the API key stays with the worker', () => {
  it("a key given to the worker's model client never appears in workflow history", async () => {
    const marker = `sk-ant-SECRET-MARKER-${randomUUID()}`;
    const anthropic = createAnthropic({ ANTHROPIC_API_KEY: marker, ANTHROPIC_BASE_URL: h.simulator.url });
    expect(anthropic.apiKey).toBe(marker);
    const worker = await h.startWorker({ anthropic });
    const { handle } = await startAudit(h, 'apikey', N);
    const result = await worker.runUntil(handle.result());
    expect(result.status).toBe('completed');
    expect(result.report).toBe(expectedReport);

    const history = haystack(historyToJSON(await handle.fetchHistory()));
    // The search does see the conversation (so it would see the key if it were there)…
    expect(history).toContain(FINDING);
    expect(history).toContain('Audit the 5 files');
    // …and the key is not in it.
    expect(history).not.toContain(marker);
    expect(history).not.toContain('SECRET-MARKER');
    // Without encryption the store holds the conversation in plaintext (the control for the encrypted run).
    const stored = await Promise.all((await filesUnder(h.storeDir)).map((f) => readFile(f, 'utf8')));
    expect(stored.some((c) => c.includes(FILE_TEXT))).toBe(true);
  });

  it('a key in the environment of `longhaul worker` and `longhaul run` never enters the workflow input or history', async () => {
    const marker = `sk-ant-ENV-MARKER-${randomUUID()}`;
    const env = { ANTHROPIC_API_KEY: marker, TEMPORAL_ADDRESS: h.env.address, LONGHAUL_TASK_QUEUE: h.taskQueue };
    const child = await h.spawnWorker(h.taskQueue, { ANTHROPIC_API_KEY: marker });
    try {
      const workspace = join(h.dir, 'envkey');
      await writeAuditWorkspace(workspace, N);
      const id = `envkey-${Date.now()}`;
      const run = await runCli(
        [
          'run',
          '--id',
          id,
          '--task',
          auditTask(N),
          '--workspace',
          workspace,
          '--model',
          'claude-haiku-4-5',
          '--tool-policy',
          'write_file=allow',
        ],
        env,
      );
      expect(run.stderr + run.stdout).not.toContain(marker);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain(expectedReport);

      const events = (await h.env.client.workflow.getHandle(id).fetchHistory()).events ?? [];
      const input = events[0]!
        .workflowExecutionStartedEventAttributes!.input!.payloads!.map((p) => str(p.data))
        .join('\n');
      expect(input).toContain('Audit the 5 files');
      expect(input).not.toContain(marker);
      const history = haystack(historyToJSON({ events }));
      expect(history).toContain(FINDING);
      expect(history).not.toContain(marker);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  });
});

describe('encryption on: codec on client and worker, EncryptedStore over a DirectoryStore', () => {
  it('runs to the right report while history and store hold no plaintext, and replays with the codec', async () => {
    const keyring = new Keyring([keyOf('k1')]);
    const dataConverter = encryptionDataConverter(keyring);
    const client = new Client({ connection: h.env.connection, namespace: 'default', dataConverter });
    const storeDir = join(h.dir, 'encrypted-store');
    const store = new EncryptedStore(new DirectoryStore(storeDir), keyring);
    const worker = await h.startWorker({ store, dataConverter });

    const marker = `ZEBRAMARKER${randomBytes(6).toString('hex')}`;
    const workspace = join(h.dir, 'encrypted');
    await writeAuditWorkspace(workspace, N);
    const workflowId = `encrypted-${Date.now()}`;
    const handle = await startRun(client, auditOptions(workspace, `${auditTask(N)} Reference: ${marker}.`), {
      taskQueue: h.taskQueue,
      workflowId,
    });
    const result = await worker.runUntil(handle.result());

    // Decoded through the client: readable.
    expect(result.status).toBe('completed');
    expect(result.report).toBe(expectedReport);
    expect(result.state.findings.map((f) => f.detail)).toContain(FINDING);

    const historyJson = historyToJSON(await handle.fetchHistory());
    const history = haystack(historyJson);
    expect(encryptedPayloadCount(historyJson)).toBeGreaterThan(10);
    for (const secret of [marker, FINDING, FILE_TEXT, 'Audit the 5 files', 'Audit report:'])
      expect(history).not.toContain(secret);
    // The memo (status, turn, the open escalation's question) goes through the codec as well.
    type Memo = { fields?: Record<string, { metadata: Record<string, string> }> } | undefined;
    const events = JSON.parse(historyJson).events as Record<string, Record<string, unknown> | undefined>[];
    const memos = events.flatMap((e) => [
      e.workflowExecutionStartedEventAttributes?.memo,
      e.workflowPropertiesModifiedEventAttributes?.upsertedMemo,
    ]) as Memo[];
    const memoPayloads = memos.flatMap((memo) => Object.values(memo?.fields ?? {}));
    expect(memoPayloads.length).toBeGreaterThan(0);
    for (const p of memoPayloads) expect(str(Buffer.from(p.metadata.encoding!, 'base64'))).toBe('binary/encrypted');

    const files = await filesUnder(storeDir);
    expect(files.some((f) => f.includes('/blobs/'))).toBe(true);
    expect(files.some((f) => f.includes('/ledger/'))).toBe(true);
    for (const file of files) {
      const content = await readFile(file, 'utf8');
      for (const secret of [marker, FINDING, FILE_TEXT, 'Audit report:']) expect(content, file).not.toContain(secret);
      // Blobs and ledger records are ciphertext; only the journal is plain.
      if (!file.endsWith('effects.log')) expect(content.startsWith('enc:v1:k1:'), file).toBe(true);
    }

    // A client without the keys cannot read the result.
    await expect(h.env.client.workflow.getHandle(workflowId).result()).rejects.toThrow();

    // The replayer needs the same codec.
    const replays = [];
    for await (const r of Worker.runReplayHistories(
      {
        workflowBundle: { codePath: process.env.LONGHAUL_WORKFLOW_BUNDLE! },
        dataConverter,
        sinks: discardWorkflowSpans,
      },
      [{ workflowId, history: await handle.fetchHistory() }],
    )) {
      replays.push(r);
    }
    expect(replays).toHaveLength(1);
    expect(replays[0]!.error).toBeUndefined();
  });
});

describe('encryption on: failures', () => {
  it("a failure's message and stack trace are sealed in history, and read back through the client's codec", async () => {
    const keyring = new Keyring([keyOf('k1')]);
    const dataConverter = encryptionDataConverter(keyring);
    const client = new Client({ connection: h.env.connection, namespace: 'default', dataConverter });
    const store = new EncryptedStore(new DirectoryStore(join(h.dir, 'encrypted-failures')), keyring);
    const worker = await h.startWorker({ store, dataConverter });
    // An agent no worker serves: the admitRun activity fails, then the workflow does.
    const agent = `ZEBRA${randomBytes(4).toString('hex')}`;
    const handle = await startRun(
      client,
      { ...auditOptions(join(h.dir, 'encrypted-failures-ws')), agent },
      { taskQueue: h.taskQueue, workflowId: `encrypted-failure-${Date.now()}` },
    );
    const failure = await worker.runUntil(handle.result().catch((err: unknown) => err));
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    expect((failure as WorkflowFailedError).cause?.message).toBe(
      `invalid run options: unknown agent "${agent}"; this worker serves: none`,
    );

    const historyJson = historyToJSON(await handle.fetchHistory());
    const history = haystack(historyJson);
    expect(history).toContain('Encoded failure');
    expect(history).not.toContain(agent);
    expect(history).not.toContain('invalid run options');
  });
});

describe('key rotation', () => {
  const k1 = keyOf('k1');
  const k2 = keyOf('k2');
  const old = parseKeyring(spec([k1]), 'LONGHAUL_ENCRYPTION_KEYS');
  const rotated = parseKeyring(spec([k2, k1]), 'LONGHAUL_ENCRYPTION_KEYS');
  const k2only = parseKeyring(spec([k2]), 'LONGHAUL_ENCRYPTION_KEYS');

  it('payloads encrypted with k1 decrypt with [k2, k1]; new payloads use k2; an unknown key id is named', async () => {
    const [sealed] = await createEncryptionCodec(old).encode([jsonPayload({ hello: 'k1' })]);
    expect(str(sealed!.metadata!.encoding)).toBe('binary/encrypted');
    expect(str(sealed!.metadata![KEY_ID_METADATA])).toBe('k1');
    expect(str(sealed!.data)).not.toContain('hello');

    const codec = createEncryptionCodec(rotated);
    const [opened] = await codec.decode([sealed!]);
    expect(JSON.parse(str(opened!.data))).toEqual({ hello: 'k1' });
    expect(str(opened!.metadata!.encoding)).toBe('json/plain');

    const [fresh] = await codec.encode([jsonPayload('new')]);
    expect(str(fresh!.metadata![KEY_ID_METADATA])).toBe('k2');
    // Random IV: the same plaintext never gives the same ciphertext.
    const [again] = await codec.encode([jsonPayload('new')]);
    expect(Buffer.from(again!.data!).equals(Buffer.from(fresh!.data!))).toBe(false);

    const unknown = createEncryptionCodec(k2only).decode([sealed!]);
    await expect(unknown).rejects.toThrow(UnknownKeyError);
    await expect(createEncryptionCodec(k2only).decode([sealed!])).rejects.toThrow(/key "k1".*not in the keyring/);

    // Tampering is detected.
    const tampered = { ...sealed!, data: new Uint8Array(sealed!.data!) };
    tampered.data[20]! ^= 1;
    await expect(codec.decode([tampered])).rejects.toThrow(DecryptionError);
    // Unencrypted payloads (histories from before encryption) pass through unchanged.
    const plain = jsonPayload({ old: true });
    expect(await codec.decode([plain])).toEqual([plain]);
  });

  it('store strings: k1 text reads with [k2, k1], is bound to its context, and new text uses k2', () => {
    const text = encryptString(old, 'transcript text', 'sha256:aa');
    expect(text.startsWith('enc:v1:k1:')).toBe(true);
    expect(decryptString(rotated, text, 'sha256:aa')).toBe('transcript text');
    expect(() => decryptString(rotated, text, 'sha256:bb')).toThrow(DecryptionError);
    expect(() => decryptString(k2only, text, 'sha256:aa')).toThrow(/key "k1"/);
    expect(encryptString(rotated, 'x').startsWith('enc:v1:k2:')).toBe(true);
    expect(decryptString(rotated, 'not encrypted')).toBe('not encrypted');
  });

  it('EncryptedStore: same refs across keys, rotation, plaintext from before, and moved ciphertext refused', async () => {
    const dir = join(h.dir, 'rotation-store');
    const plainStore = new DirectoryStore(dir);
    const before = new EncryptedStore(plainStore, old);
    const ref = await before.put('a transcript node');
    expect(ref).toBe(refFor('a transcript node'));
    await before.putRecord('wf/1/toolu_1', '{"ok":true}');
    expect(await plainStore.readStored(ref)).toMatch(/^enc:v1:k1:/);
    expect(await plainStore.getRecord('wf/1/toolu_1')).toMatch(/^enc:v1:k1:/);

    const after = new EncryptedStore(new DirectoryStore(dir), rotated);
    expect(await after.get(ref)).toBe('a transcript node');
    expect(await after.getRecord('wf/1/toolu_1')).toBe('{"ok":true}');
    expect(await after.getRecord('wf/9/missing')).toBeUndefined();
    // Idempotent across keys: the same content is the same ref and is not rewritten.
    expect(await after.put('a transcript node')).toBe(ref);
    expect(await plainStore.readStored(ref)).toMatch(/^enc:v1:k1:/);
    const ref2 = await after.put('written after rotation');
    expect(await plainStore.readStored(ref2)).toMatch(/^enc:v1:k2:/);
    await after.putRecord('wf/1/toolu_1', '{"ok":"again"}');
    expect(await plainStore.getRecord('wf/1/toolu_1')).toMatch(/^enc:v1:k2:/);

    // A blob written before encryption was on still reads (when it matches its ref).
    const legacy = await plainStore.put('from before encryption');
    expect(await after.get(legacy)).toBe('from before encryption');

    // Ciphertext moved under another ref is refused for good.
    const moved = refFor('some other content');
    await plainStore.put(await plainStore.readStored(ref), moved);
    await expect(after.get(moved)).rejects.toMatchObject({ type: 'BlobUnreadable', nonRetryable: true });

    // Without k1 the old blob names the missing key.
    await expect(new EncryptedStore(plainStore, k2only).get(ref)).rejects.toThrow(/key "k1"/);
    // The journal stays plain.
    await after.journal('wf/1/toolu_1 write_file');
    expect(await readFile(join(dir, 'effects.log'), 'utf8')).toContain('wf/1/toolu_1 write_file');
  });
});

describe('longhaul codec-server', () => {
  const keyring = new Keyring([keyOf('k2'), keyOf('k1')]);

  it('POST /encode then /decode round-trips; preflight answers with the CORS headers', async () => {
    const token = newCodecToken();
    const server = await startCodecServer({ codec: createEncryptionCodec(keyring), port: 0, token });
    try {
      const original = {
        metadata: { encoding: Buffer.from('json/plain').toString('base64') },
        data: Buffer.from(JSON.stringify({ secret: 'round trip' })).toString('base64'),
      };
      const post = (path: string, body: unknown, origin = 'http://localhost:8233', authorization = `Bearer ${token}`) =>
        fetch(`${server.url}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-namespace': 'default', origin, authorization },
          body: JSON.stringify(body),
        });

      const encodedRes = await post('/encode', { payloads: [original] });
      expect(encodedRes.status).toBe(200);
      expect(encodedRes.headers.get('access-control-allow-origin')).toBe('http://localhost:8233');
      const encoded = (await encodedRes.json()) as { payloads: { metadata: Record<string, string>; data: string }[] };
      expect(encoded.payloads).toHaveLength(1);
      expect(Buffer.from(encoded.payloads[0]!.metadata.encoding!, 'base64').toString()).toBe('binary/encrypted');
      expect(Buffer.from(encoded.payloads[0]!.metadata[KEY_ID_METADATA]!, 'base64').toString()).toBe('k2');
      expect(Buffer.from(encoded.payloads[0]!.data, 'base64').toString()).not.toContain('round trip');

      const decodedRes = await post('/decode', encoded);
      expect(decodedRes.status).toBe(200);
      expect(await decodedRes.json()).toEqual({ payloads: [original] });

      const preflight = await fetch(`${server.url}/decode`, {
        method: 'OPTIONS',
        headers: {
          origin: 'http://localhost:8233',
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'content-type,x-namespace',
        },
      });
      expect(preflight.status).toBe(204);
      expect(preflight.headers.get('access-control-allow-origin')).toBe('http://localhost:8233');
      expect(preflight.headers.get('access-control-allow-methods')).toContain('POST');
      const allowed = preflight.headers
        .get('access-control-allow-headers')!
        .split(',')
        .map((s) => s.trim().toLowerCase());
      expect(allowed).toEqual(expect.arrayContaining(['x-namespace', 'content-type', 'authorization']));

      // No token, another token (longer, shorter, one character off), another scheme: 401, nothing decoded.
      for (const authorization of ['', `Bearer ${token}x`, `Bearer ${token.slice(1)}`, `Basic ${token}`, 'Bearer ']) {
        const refused = await post('/decode', encoded, 'http://localhost:8233', authorization);
        expect(refused.status).toBe(401);
        expect(refused.headers.get('www-authenticate')).toBe('Bearer');
        expect(await refused.text()).not.toContain('round trip');
      }
      expect(
        (
          await post(
            '/decode',
            encoded,
            'http://localhost:8233',
            `Bearer ${token.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'))}`,
          )
        ).status,
      ).toBe(401);
      // The Web UI's way: a cookie set once by GET /login?token=…, sent with credentials.
      expect((await fetch(`${server.url}/login?token=wrong`)).status).toBe(401);
      const login = await fetch(`${server.url}/login?token=${token}`);
      expect(login.status).toBe(200);
      const cookie = login.headers.get('set-cookie')!;
      expect(cookie).toMatch(/HttpOnly; SameSite=Strict/);
      const withCookie = await fetch(`${server.url}/decode`, {
        method: 'POST',
        headers: { origin: 'http://localhost:8233', cookie: cookie.split(';')[0]! },
        body: JSON.stringify(encoded),
      });
      expect(withCookie.status).toBe(200);
      expect(await withCookie.json()).toEqual({ payloads: [original] });
      await expect(
        startCodecServer({ codec: createEncryptionCodec(keyring), port: 0, token: 'short' }),
      ).rejects.toThrow(/at least 16 characters/);

      // Another origin, a bad body, an unknown key id.
      expect((await post('/decode', encoded, 'http://evil.example')).status).toBe(403);
      expect((await post('/decode', { nope: 1 })).status).toBe(400);
      const foreign = await createEncryptionCodec(new Keyring([keyOf('k9')])).encode([jsonPayload(1)]);
      const unknown = await post('/decode', {
        payloads: foreign.map((p) => ({
          metadata: Object.fromEntries(
            Object.entries(p.metadata!).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
          ),
          data: Buffer.from(p.data!).toString('base64'),
        })),
      });
      expect(unknown.status).toBe(422);
      expect(((await unknown.json()) as { error: string }).error).toContain('"k9"');
    } finally {
      await server.close();
    }
  });

  it('the CLI command serves on the given port and CORS origin and stops on SIGTERM', async () => {
    const child = spawn(
      process.execPath,
      [bin, 'codec-server', '--port', '0', '--cors-origin', 'http://ui.test:8080'],
      {
        env: {
          ...process.env,
          LONGHAUL_ENCRYPTION_KEYS: spec([keyOf('k1')]),
          LONGHAUL_ENCRYPTION_KEY_FILE: '',
          LONGHAUL_CODEC_TOKEN: '',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const exited = new Promise<number | null>((r) => child.once('exit', r));
    try {
      // Without LONGHAUL_CODEC_TOKEN it makes a token and prints it once.
      const [url, token] = await new Promise<[string, string]>((resolve, reject) => {
        let out = '';
        child.stderr.on('data', (c: Buffer) => {
          out += c.toString();
          const m = /codec server on (http:\/\/127\.0\.0\.1:\d+).*\ntoken \(made for this start.*\): (\S+)\n/.exec(out);
          if (m) resolve([m[1]!, m[2]!]);
        });
        void exited.then((code) => reject(new Error(`codec-server exited with ${code}: ${out}`)));
      });
      const payload = {
        metadata: { encoding: Buffer.from('json/plain').toString('base64') },
        data: Buffer.from('"x"').toString('base64'),
      };
      const enc = await fetch(`${url}/encode`, {
        method: 'POST',
        body: JSON.stringify({ payloads: [payload] }),
        headers: { origin: 'http://ui.test:8080', authorization: `Bearer ${token}` },
      });
      expect(enc.headers.get('access-control-allow-origin')).toBe('http://ui.test:8080');
      const body = await enc.text();
      expect((await fetch(`${url}/decode`, { method: 'POST', body })).status).toBe(401);
      const dec = await fetch(`${url}/decode`, { method: 'POST', body, headers: { authorization: `Bearer ${token}` } });
      expect(await dec.json()).toEqual({ payloads: [payload] });
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });

  it('with LONGHAUL_CODEC_TOKEN set, the CLI command requires that token and never prints it', async () => {
    const token = newCodecToken();
    const child = spawn(process.execPath, [bin, 'codec-server', '--port', '0'], {
      env: {
        ...process.env,
        LONGHAUL_ENCRYPTION_KEYS: spec([keyOf('k1')]),
        LONGHAUL_ENCRYPTION_KEY_FILE: '',
        LONGHAUL_CODEC_TOKEN: token,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((r) => child.once('exit', r));
    let out = '';
    try {
      const url = await new Promise<string>((resolve, reject) => {
        child.stderr.on('data', (c: Buffer) => {
          out += c.toString();
          const m = /codec server on (http:\/\/127\.0\.0\.1:\d+).*\ntoken from LONGHAUL_CODEC_TOKEN\n/.exec(out);
          if (m) resolve(m[1]!);
        });
        void exited.then((code) => reject(new Error(`codec-server exited with ${code}: ${out}`)));
      });
      const decode = (authorization: string) =>
        fetch(`${url}/decode`, { method: 'POST', body: '{"payloads":[]}', headers: { authorization } });
      expect((await decode(`Bearer ${token}`)).status).toBe(200);
      expect((await decode(`Bearer ${newCodecToken()}`)).status).toBe(401);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(out).not.toContain(token);
  });
});

describe('configuration errors', () => {
  it('a 31-byte key is a one-line error naming LONGHAUL_ENCRYPTION_KEYS that does not echo the key', async () => {
    const short = randomBytes(31).toString('base64');
    let error: unknown;
    try {
      loadKeyring({ LONGHAUL_ENCRYPTION_KEYS: `k1:${short}` });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toMatch(/^LONGHAUL_ENCRYPTION_KEYS: key "k1" is 31 bytes/);
    expect(message).not.toContain('\n');
    expect(message).not.toContain(short);

    // The same through the CLI and the worker: one line on stderr, exit code 2, before connecting.
    for (const args of [['status', 'some-run'], ['worker'], ['codec-server']]) {
      const out = await runCli(args, { LONGHAUL_ENCRYPTION_KEYS: `k1:${short}`, TEMPORAL_ADDRESS: '127.0.0.1:1' });
      expect(out.code, args.join(' ')).toBe(2);
      expect(out.stderr.trim().split('\n')).toHaveLength(1);
      expect(out.stderr).toContain('LONGHAUL_ENCRYPTION_KEYS');
      expect(out.stderr).not.toContain(short);
    }
  });

  it('rejects duplicate and malformed ids, non-base64 keys, empty values and both variables at once', async () => {
    const good = generateKey();
    const bad: Record<string, RegExp> = {
      [`k1:${good},k1:${generateKey()}`]: /"k1" appears twice/,
      [`bad id:${good}`]: /must match/,
      [`k.1:${good}`]: /must match/,
      [`k1:not*base64`]: /not base64/,
      [good]: /not id:base64key/,
      [' , ']: /no keys/,
    };
    for (const [value, why] of Object.entries(bad)) {
      expect(() => loadKeyring({ LONGHAUL_ENCRYPTION_KEYS: value }), value).toThrow(why);
      expect(() => loadKeyring({ LONGHAUL_ENCRYPTION_KEYS: value })).toThrow(/^LONGHAUL_ENCRYPTION_KEYS: /);
    }
    expect(() => loadKeyring({ LONGHAUL_ENCRYPTION_KEYS: `k1:${good}`, LONGHAUL_ENCRYPTION_KEY_FILE: '/x' })).toThrow(
      /both set/,
    );
    expect(loadKeyring({})).toBeUndefined();
    expect(loadKeyring({ LONGHAUL_ENCRYPTION_KEYS: '' })).toBeUndefined();

    // The key file: same format, one entry per line allowed; errors name the variable.
    const dir = join(h.dir, 'keys');
    await mkdir(dir, { recursive: true });
    const file = join(dir, 'keys.txt');
    await writeFile(file, `k2:${generateKey()}\nk1:${good}\n`);
    const fromFile = loadKeyring({ LONGHAUL_ENCRYPTION_KEY_FILE: file })!;
    expect(fromFile.current.id).toBe('k2');
    expect(fromFile.ids).toEqual(['k2', 'k1']);
    await writeFile(file, `k1:${randomBytes(31).toString('base64')}\n`);
    expect(() => loadKeyring({ LONGHAUL_ENCRYPTION_KEY_FILE: file })).toThrow(
      /^LONGHAUL_ENCRYPTION_KEY_FILE=.*31 bytes/,
    );
    expect(() => loadKeyring({ LONGHAUL_ENCRYPTION_KEY_FILE: join(dir, 'missing') })).toThrow(
      /^LONGHAUL_ENCRYPTION_KEY_FILE=.*ENOENT/,
    );
  });
});

/** The history of a run, every payload decoded and searchable (see `haystack`). */
const historyOf = async (client: Client, workflowId: string) =>
  haystack(historyToJSON(await client.workflow.getHandle(workflowId).fetchHistory()));

/** A run submitted with client.workflow.start, past startRun's checks, as anyone who reaches Temporal can. */
const startRaw = (taskQueue: string, options: RunOptionsInput, name: string) =>
  h.env.client.workflow.start<AgentRunWorkflow>(AGENT_RUN_WORKFLOW, {
    taskQueue,
    workflowId: `${name}-${randomUUID().slice(0, 8)}`,
    args: [{ options }],
  });

const failureOf = async (run: Promise<unknown>) => {
  const err = await run.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkflowFailedError);
  return (err as WorkflowFailedError).cause?.message;
};

describe('the worker decides what runs may touch', () => {
  beforeAll(() => symlink('/etc', refusals().link));
  /** A symlink in the workspace root to a directory outside every root, and what each refusal says. */
  const refusals = () => {
    const link = join(h.dir, 'link-to-etc');
    return {
      link,
      cases: [
        ['/proc/self', 'workspace: "/proc/self" is under /proc'],
        ['/', 'workspace: "/" is the root directory'],
        ['..', `workspace: ".." has a '..' segment`],
        [
          link,
          `workspace ${JSON.stringify(link)} is outside this worker's workspace roots (LONGHAUL_WORKSPACE_ROOTS), after following symlinks`,
        ],
      ] as const,
    };
  };

  it('--workspace /proc/self, /, .. and a symlink to outside are refused at submit, by the CLI and startRun', async () => {
    const { link, cases } = refusals();
    const env = {
      TEMPORAL_ADDRESS: h.env.address,
      LONGHAUL_TASK_QUEUE: h.taskQueue,
      LONGHAUL_WORKSPACE_ROOTS: tmpdir(),
    };
    for (const [workspace, why] of cases) {
      const id = `refused-cli-${randomUUID().slice(0, 8)}`;
      const out = await runCli(['submit', '--id', id, '--task', 'x', '--workspace', workspace], env);
      expect(out.code, workspace).toBe(2);
      const line = why.replace(/^workspace: /, '--workspace: ');
      expect(out.stderr).toBe(`longhaul: ${workspace === link ? why : line}\n`);
      await expect(h.env.client.workflow.getHandle(id).describe()).rejects.toThrow(/not found/i);

      const viaLibrary = startRun(
        h.env.client,
        { task: 'x', workspace },
        { taskQueue: h.taskQueue, workspaceRoots: [tmpdir()] },
      );
      await expect(viaLibrary).rejects.toThrow(RunOptionsError);
      await expect(viaLibrary).rejects.toThrow(why);
    }
  });

  it('submitted raw past startRun, each fails at start on the worker with the reason, and nothing runs', async () => {
    const { cases } = refusals();
    const worker = await h.startWorker();
    const task = '[sim:call read_file] {"path":"environ"}';
    const handles = await Promise.all(
      cases.map(([workspace]) => startRaw(h.taskQueue, { task, workspace }, 'raw-workspace')),
    );
    const reasons = await worker.runUntil(Promise.all(handles.map((run) => failureOf(run.result()))));
    expect(reasons).toEqual(cases.map(([, why]) => `invalid run options: ${why}`));
    for (const run of handles) {
      const { events } = await run.fetchHistory();
      const scheduled = events!.flatMap((e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? []);
      // At most the admission itself (the symlink needs the worker's file system to be refused).
      expect(scheduled.filter((name) => name !== 'admitRun')).toEqual([]);
    }
  });

  it("a run cannot widen its worker's policy or its agent's; a webhook off the allow-list is refused", async () => {
    const worker = await h.startWorker({
      toolPolicies: {},
      agents: [wordCounter],
      webhookAllow: ['https://hooks.example.com'],
    });
    const workspace = join(h.dir, 'ceilings');
    await mkdir(workspace, { recursive: true });
    const runs = [
      { task: 'x', workspace, toolPolicies: { write_file: 'allow' } },
      { task: 'x', workspace, agent: 'word-counter', toolPolicies: { write_file: 'approve' } },
      { task: 'x', workspace, escalation: { webhookUrl: 'https://evil.example.net/h00k-S3CRET' } },
    ] satisfies RunOptionsInput[];
    const handles = await Promise.all(runs.map((o) => startRun(h.env.client, o, { taskQueue: h.taskQueue })));
    const reasons = await worker.runUntil(Promise.all(handles.map((run) => failureOf(run.result()))));
    expect(reasons).toEqual([
      'invalid run options: toolPolicies.write_file: allow is wider than this worker allows (approve); a run may narrow its tool policies, never widen them',
      'invalid run options: toolPolicies.write_file: approve is wider than agent word-counter allows (deny); a run may narrow its tool policies, never widen them',
      "invalid run options: escalation.webhookUrl goes to https://evil.example.net, which is not on this worker's webhook allow-list (LONGHAUL_WEBHOOK_ALLOW)",
    ]);
    expect(reasons.join('\n')).not.toContain('S3CRET');
  });

  it("under the worker's approve ceiling, a write runs once a person approves it (the call carries the approval)", async () => {
    const worker = await h.startWorker({ toolPolicies: {} });
    const workspace = join(h.dir, 'approved');
    await mkdir(workspace, { recursive: true });
    const run = await startRun(h.env.client, { task: '[sim:write]', workspace }, { taskQueue: h.taskQueue });
    const result = await worker.runUntil(async () => {
      while (!(await run.query(progressQuery)).escalation) await sleep(100);
      await run.executeUpdate(respondUpdate, { args: [{ escalationId: 'esc-1', decision: 'approve' }] });
      return run.result();
    });
    expect(result.report).toBe('write succeeded: wrote 6 bytes to out.txt');
    expect(await readFile(join(workspace, 'out.txt'), 'utf8')).toBe('hello\n');
  });
});

describe("a run cannot read its worker's environment (canary)", () => {
  it('no path to /proc/self/environ gives the key to a tool result, the run result or history', async () => {
    const canary = `sk-ant-CANARY-${randomUUID()}`;
    const queue = `${h.taskQueue}-canary`;
    // A process of its own: /proc/self/environ is the environment a process was started with.
    const child = await h.spawnWorker(queue, { ANTHROPIC_API_KEY: canary });
    try {
      const workspace = join(h.dir, 'canary');
      await mkdir(workspace, { recursive: true });
      await writeFile(join(workspace, 'visible.txt'), 'CONTROL-TEXT-readable');
      await symlink('/proc/self/environ', join(workspace, 'environ-link'));
      await symlink('/proc/self', join(workspace, 'proc-link'));
      await symlink('/proc/self', join(h.dir, 'canary-proc'));
      const read = (input: object) => `[sim:call read_file] ${JSON.stringify(input)}`;
      const toolRuns = await Promise.all(
        [
          { path: '/proc/self/environ' },
          { path: '../../../../../../proc/self/environ' },
          { path: 'environ-link' },
          { path: 'proc-link/environ' },
          { path: 'visible.txt' },
        ].map((input) => startRun(h.env.client, { task: read(input), workspace }, { taskQueue: queue })),
      );
      // Workspaces that are /proc/self, by name and through a symlink, submitted past startRun.
      const workspaceRuns = await Promise.all(
        ['/proc/self', join(h.dir, 'canary-proc')].map((ws) =>
          startRaw(queue, { task: read({ path: 'environ' }), workspace: ws }, 'canary-ws'),
        ),
      );
      const reports = await Promise.all(toolRuns.map(async (run) => (await run.result()).report!));
      for (const report of reports.slice(0, 4)) expect(report).toMatch(/^read_file failed: /);
      expect(reports[4]).toMatch(/^read_file said: CONTROL-TEXT-readable/);
      const refusals = await Promise.all(workspaceRuns.map((run) => failureOf(run.result())));
      expect(refusals[0]).toBe('invalid run options: workspace: "/proc/self" is under /proc');
      expect(refusals[1]).toMatch(
        /^invalid run options: workspace ".*canary-proc" leads to a directory that is under \/proc$/,
      );

      const seen = await Promise.all(
        [...toolRuns, ...workspaceRuns].map((run) => historyOf(h.env.client, run.workflowId)),
      );
      // The search sees tool results (the control read), so it would see the key if a tool had returned it.
      expect(seen[4]).toContain('CONTROL-TEXT-readable');
      for (const text of [...seen, ...reports, ...refusals]) expect(text).not.toContain(canary);
      expect(seen.join('\n')).not.toContain('CANARY');
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  });
});
