import Anthropic from '@anthropic-ai/sdk';
import { DEFAULT_MODEL } from '../common/models.js';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createModelActivities } from '../activities/model.js';
import type { ModelCallInput, ModelCallResult } from '../common/contracts.js';
import { retryAfterMs } from '../activities/model-errors.js';
import { DirectoryStore } from '../store/directory-store.js';
import { RunOptions } from '../common/options.js';
import { startSimulator, type Simulator } from '../simulator/server.js';

let sim: Simulator;
let callModel: ReturnType<typeof createModelActivities>['callModel'];

const input: ModelCallInput = {
  workflowId: 'wf-errors',
  turn: 1,
  model: DEFAULT_MODEL,
  maxOutputTokens: 1000,
  instructions: { systemPrompt: 'You are a test.', task: 'Reply with: ok' },
  state: null,
  compaction: RunOptions.parse({ task: 'x', workspace: '/tmp' }).compaction,
  head: null,
  append: [{ type: 'text', text: 'Begin.' }],
};

/** Runs the real model activity (real SDK, real HTTP) and returns the failure it throws. */
async function failureFor(setup: () => void, timeoutMs?: number): Promise<ApplicationFailure> {
  setup();
  const activity = timeoutMs
    ? createModelActivities({
        anthropic: new Anthropic({ apiKey: 'x', baseURL: sim.url, maxRetries: 0, timeout: timeoutMs }),
        store: new DirectoryStore(await mkdtemp(join(tmpdir(), 'longhaul-err-'))),
        toolsetOf: () => ({ registry: new Map(), schemas: [] }),
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
    toolsetOf: () => ({ registry: new Map(), schemas: [] }),
  }));
});
afterAll(() => sim.close());

describe('model errors land on the intended retry side', () => {
  it.each([
    [400, 'ModelBadRequest', false],
    [401, 'ModelAuthentication', false],
    [403, 'ModelPermissionDenied', false],
    [404, 'ModelNotFound', false],
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
