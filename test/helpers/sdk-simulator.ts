import Anthropic from '@anthropic-ai/sdk';
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll } from 'vitest';
import { startSimulator, type Simulator } from '../../simulator/server.js';

/** A test file's simulator and the real SDK pointed at it (no retries), started before its tests. */
export interface SdkSimulator {
  sim: Simulator;
  client: Anthropic;
  /** Directories the file made, removed after its tests. */
  scratch: string[];
}

/** Read its `sim` and `client` in hooks and tests, not while the file is collected. */
export function useSdkSimulator(): SdkSimulator {
  const t = { scratch: [] as string[] } as SdkSimulator;
  beforeAll(async () => {
    t.sim = await startSimulator();
    t.client = new Anthropic({ apiKey: 'x', baseURL: t.sim.url, maxRetries: 0 });
  });
  afterAll(async () => {
    await t.sim.close();
    await Promise.all(t.scratch.map((dir) => rm(dir, { recursive: true, force: true })));
  });
  return t;
}
