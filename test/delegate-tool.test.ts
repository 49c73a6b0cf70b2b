import Anthropic from '@anthropic-ai/sdk';
import { MockActivityEnvironment } from '@temporalio/testing';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createModelActivities } from '../activities/model.js';
import type { ModelCallInput } from '../common/contracts.js';
import { startSimulator, type Simulator } from '../simulator/server.js';
import { DirectoryStore } from '../store/directory-store.js';
import { assembleToolset } from '../tools/toolset.js';
import { workspaceTools } from '../tools/workspace-tools.js';
import { modelCallInput } from './helpers/model-call-input.js';
import type { RequestBody } from './helpers/request-capture.js';

let sim: Simulator;
let callModel: ReturnType<typeof createModelActivities>['callModel'];

const input = (over: Partial<ModelCallInput>) => modelCallInput(`wf-delegate-${Math.random()}`, over);

beforeAll(async () => {
  sim = await startSimulator();
  const toolset = assembleToolset('test', workspaceTools);
  ({ callModel } = createModelActivities({
    anthropic: new Anthropic({ apiKey: 'x', baseURL: sim.url, maxRetries: 0 }),
    store: new DirectoryStore(await mkdtemp(join(tmpdir(), 'longhaul-delegate-'))),
    toolsetOf: () => toolset,
    workspaceRoots: [],
  }));
});
afterAll(() => sim.close());

/** The tools of the last request the simulator saw, by name, with the agent field's description. */
const lastTools = () => {
  const body = sim.requests().at(-1)!.body as RequestBody;
  return (body.tools as { name: string; input_schema: { properties: Record<string, { description?: string }> } }[]).map(
    (t) => [t.name, t.name === 'delegate' ? t.input_schema.properties.agent!.description : undefined] as const,
  );
};

describe('the model activity offers delegate to runs that may delegate', () => {
  it('after the toolset, its agent field naming the allowed agents; never to other runs', async () => {
    const env = new MockActivityEnvironment();
    await env.run(callModel, input({ delegation: { agents: ['reader', 'writer'] } }));
    const offered = lastTools();
    expect(offered.at(-1)).toEqual(['delegate', expect.stringContaining('one of reader, writer')]);
    expect(offered.filter(([name]) => name === 'delegate')).toHaveLength(1);
    await env.run(callModel, input({}));
    expect(lastTools().map(([name]) => name)).not.toContain('delegate');
  });
});
