import Anthropic from '@anthropic-ai/sdk';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createModelActivities } from '../activities/model.js';
import type { ModelCallResult } from '../common/contracts.js';
import { classifyModelError, retryAfterMs } from '../activities/model-errors.js';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DirectoryStore } from '../store/directory-store.js';
import { startSimulator, type Simulator } from '../simulator/server.js';
import { modelCallInput } from './helpers/model-call-input.js';

let sim: Simulator;
let callModel: ReturnType<typeof createModelActivities>['callModel'];

const input = modelCallInput('wf-errors');

/** Runs the real model activity (real SDK, real HTTP) and returns the failure it throws. */
async function failureFor(setup: () => void, timeoutMs?: number): Promise<ApplicationFailure> {
  setup();
  const activity = timeoutMs
    ? createModelActivities({
        anthropic: new Anthropic({ apiKey: 'x', baseURL: sim.url, maxRetries: 0, timeout: timeoutMs }),
        store: new DirectoryStore(await mkdtemp(join(tmpdir(), 'longhaul-err-'))),
        toolsetOf: () => ({ registry: new Map(), schemas: [], defaultPolicies: {} }),
        workspaceRoots: [],
      }).callModel
    : callModel;
  const err = await new MockActivityEnvironment().run(activity, input).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApplicationFailure);
  return err as ApplicationFailure;
}

beforeAll(async () => {
  sim = await startSimulator();
  ({ callModel } = createModelActivities({
    anthropic: new Anthropic({ apiKey: 'x', baseURL: sim.url, maxRetries: 0 }),
    store: new DirectoryStore(await mkdtemp(join(tmpdir(), 'longhaul-err-'))),
    toolsetOf: () => ({ registry: new Map(), schemas: [], defaultPolicies: {} }),
    workspaceRoots: [],
  }));
});
afterAll(() => sim.close());

describe('model errors land on the intended retry side', () => {
  it.each([
    [400, 'ModelBadRequest', false],
    [401, 'ModelAuthentication', false],
    [403, 'ModelPermissionDenied', false],
    [404, 'ModelUnknown', false],
    [413, 'ModelRequestTooLarge', false],
    [408, 'ModelRequestTimeout', true],
    [409, 'ModelConflict', true],
    [429, 'ModelRateLimited', true],
    [500, 'ModelServerError', true],
    [503, 'ModelServerError', true],
    [529, 'ModelOverloaded', true],
  ])('HTTP %i → %s (retryable: %s)', async (status, type, retryable) => {
    const failure = await failureFor(() => sim.injectFaults([{ status }]));
    expect(failure.type).toBe(type);
    expect(failure.nonRetryable).toBe(!retryable);
  });

  it('honours retry-after through nextRetryDelay', async () => {
    const failure = await failureFor(() => sim.injectFaults([{ status: 429, headers: { 'retry-after': '7' } }]));
    expect(failure.nonRetryable).toBe(false);
    expect(failure.nextRetryDelay).toBe(7000);
  });

  it('a dropped connection is retryable', async () => {
    const failure = await failureFor(() => sim.injectFaults([{ dropConnection: true }]));
    expect(failure).toMatchObject({ type: 'ModelConnection', nonRetryable: false });
  });

  it('a reply slower than the client timeout is retryable', async () => {
    const failure = await failureFor(() => sim.injectFaults([{ delayMs: 1500 }]), 300);
    expect(failure).toMatchObject({ type: 'ModelTimeout', nonRetryable: false });
  });

  it('the call succeeds once faults are gone', async () => {
    const turn: ModelCallResult = await new MockActivityEnvironment().run(callModel, input);
    expect(turn.toolCalls.map((c) => c.name)).toEqual(['finish']);
  });
});

describe('retry-after parsing', () => {
  it('reads milliseconds, seconds and HTTP dates; ignores nonsense', () => {
    const h = (o: Record<string, string>) => new Headers(o);
    expect(retryAfterMs(h({ 'retry-after-ms': '250' }))).toBe(250);
    expect(retryAfterMs(h({ 'retry-after': '3' }))).toBe(3000);
    expect(retryAfterMs(h({ 'retry-after': new Date(10_000).toUTCString() }), 4_000)).toBe(6000);
    expect(retryAfterMs(h({ 'retry-after': 'soon' }))).toBeUndefined();
    expect(retryAfterMs(h({}))).toBeUndefined();
  });
});

/**
 * A stream that fails midway, as the real SDK meets it (until the simulator's faults give these):
 * three events of a reply, then an `event: error`, a socket cut, or a body that just ends.
 */
describe('a reply stream that fails midway is retried', () => {
  let server: Server;
  let url = '';
  let mode: 'error' | 'cut' | 'end' = 'error';
  const sse = (event: string, data: unknown) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
  beforeAll(async () => {
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(
          sse('message_start', {
            type: 'message_start',
            message: {
              ...{ id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-sonnet-5-5', content: [] },
              ...{ stop_reason: null, stop_sequence: null, stop_details: null },
              usage: { input_tokens: 10, output_tokens: 0 },
            },
          }) +
            sse('content_block_start', {
              type: 'content_block_start',
              index: 0,
              content_block: { type: 'text', text: '' },
            }) +
            sse('content_block_delta', {
              type: 'content_block_delta',
              index: 0,
              delta: { type: 'text_delta', text: 'hi' },
            }),
        );
        if (mode === 'error')
          res.end(sse('error', { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }));
        else if (mode === 'cut') setTimeout(() => req.socket.destroy(), 20);
        else res.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });

  it.each([
    ['error', 'ModelOverloaded', /^model API stream error: Overloaded$/],
    ['cut', 'ModelStreamCut', /^the reply's stream was cut off: terminated$/],
    ['end', 'ModelStreamCut', /^the reply's stream was cut off: stream ended without producing a Message/],
  ] as const)('%s → %s, retryable', async (m, type, message) => {
    mode = m;
    const anthropic = new Anthropic({ apiKey: 'x', baseURL: url, maxRetries: 0 });
    const err = await anthropic.beta.messages
      .stream({ model: 'claude-sonnet-5-5', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] })
      .finalMessage()
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(classifyModelError(err)).toMatchObject({ type, retryable: true, message: expect.stringMatching(message) });
  });

  it('other client-side errors stay non-retryable (a tool input the SDK could not parse)', () => {
    const err = new Anthropic.AnthropicError('Unable to parse tool parameter JSON from model.');
    expect(classifyModelError(err)).toMatchObject({ type: 'ModelClientError', retryable: false });
  });

  it('a 404 not_found_error names the model; any other 404 stays ModelNotFound', () => {
    const body = { type: 'error', error: { type: 'not_found_error', message: 'model: claude-sonet-5-5' } };
    const notFound = Anthropic.APIError.generate(404, body, undefined, new Headers());
    expect(classifyModelError(notFound, 'claude-sonet-5-5')).toEqual({
      type: 'ModelUnknown',
      retryable: false,
      message:
        'the API does not know the model "claude-sonet-5-5" (404 not_found_error: model: claude-sonet-5-5); check the run\'s model',
    });
    const route = Anthropic.APIError.generate(404, 'Not Found', undefined, new Headers());
    expect(classifyModelError(route, 'claude-sonet-5-5')).toMatchObject({ type: 'ModelNotFound', retryable: false });
  });
});
