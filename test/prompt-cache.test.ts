import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { readState, type AgentState } from '../common/prompt-format.js';
import { MAX_BREAKPOINTS } from '../activities/request-layout.js';
import { auditGroundTruth, auditReport } from '../simulator/scenarios/audit.js';
import { startAudit } from './helpers/audit-run.js';
import { useHarness } from './helpers/harness.js';
import {
  blocksInOrder,
  breakpointsOf,
  prefixBytes,
  recordingClient,
  type RequestBody,
} from './helpers/request-capture.js';

const N = 250;
const h = useHarness();

/** The state a request shows the model: in a text block of its newest user message. */
function shownState(body: RequestBody): AgentState | null {
  const newest = body.messages.findLast((m) => m.role === 'user');
  const texts = Array.isArray(newest?.content) ? newest.content.filter((b) => b.type === 'text') : [];
  return texts.map((b) => readState(typeof b.text === 'string' ? b.text : '')).findLast((s) => s !== null) ?? null;
}

/** Items the request's last reply marked done with update_state calls that succeeded. */
function markedInLastReply(body: RequestBody): string[] {
  const i = body.messages.findLastIndex((m) => m.role === 'assistant');
  const reply = body.messages[i];
  const results = body.messages[i + 1];
  if (!reply || !Array.isArray(reply.content) || !results || !Array.isArray(results.content)) return [];
  const failed = new Set(results.content.filter((b) => b.is_error === true).map((b) => b.tool_use_id));
  return reply.content.flatMap((b) => {
    if (b.type !== 'tool_use' || b.name !== 'update_state' || failed.has(b.id)) return [];
    const done = (b.input as { mark_done?: string | string[] }).mark_done;
    return done === undefined ? [] : Array.isArray(done) ? done : [done];
  });
}

const until = async (check: () => boolean) => {
  while (!check()) await sleep(100);
};

describe('requests laid out for the prompt cache, as a 250-turn audit sends them', () => {
  it('tools and system the same bytes on every call, the latest state on every call, at most 4 breakpoints, each call reading where the last wrote', async () => {
    const { anthropic, bodies } = recordingClient(h.simulator.url);
    // Continue-as-new between compactions too, and a worker restart midway: the prefix is rebuilt from the store.
    const { handle } = await startAudit(h, 'cached', N, { continueAsNewEvery: 40 });
    await (await h.startWorker({ anthropic })).runUntil(until(() => bodies.length >= 100));
    // A retried call (an overloaded API) sends the same bytes again.
    h.simulator.injectFaults([{ status: 529, match: 'messages' }]);
    const retried = bodies.length;
    const result = await (await h.startWorker({ anthropic })).runUntil(handle.result());

    expect(result.status).toBe('completed');
    expect(result.report).toBe(auditReport(N, auditGroundTruth(N)));
    expect(result.counters.compactions).toBeGreaterThanOrEqual(3);
    expect(bodies.length).toBeGreaterThanOrEqual(N);
    expect(JSON.stringify(bodies[retried + 1])).toBe(JSON.stringify(bodies[retried]));

    // Done-when 2: most of the run's input is read from the cache (compaction passes included).
    const billed = h.simulator.stats();
    const input = billed.inputTokens + billed.cacheReadInputTokens + billed.cacheCreationInputTokens;
    expect(billed.cacheReadInputTokens / input).toBeGreaterThanOrEqual(0.85);

    const [first] = bodies;
    let pairs = 0;
    let previous: AgentState | null = null;
    for (const [k, body] of bodies.entries()) {
      expect(JSON.stringify(body.tools)).toBe(JSON.stringify(first!.tools));
      expect(JSON.stringify(body.system)).toBe(JSON.stringify(first!.system));
      expect(JSON.stringify(body.system)).not.toContain('agent_state');

      const points = breakpointsOf(body);
      expect(points.length).toBeLessThanOrEqual(MAX_BREAKPOINTS);
      expect(points[0]!.where).toBe('system.0');
      const state = shownState(body);
      expect(state).not.toBeNull();
      // Behind the last breakpoint: the one block after it that carries the state.
      const blocks = blocksInOrder(body);
      const lastText = blocks.at(-1)!.block.text;
      expect(readState(typeof lastText === 'string' ? lastText : '')).toEqual(state);
      expect(points.at(-1)!.position).toBeLessThan(blocks.length - 1);
      // The latest state: it holds what the last reply marked done, and all that earlier calls showed.
      expect(state!.itemsDone).toEqual(expect.arrayContaining(markedInLastReply(body)));
      expect(state!.itemsDone).toEqual(expect.arrayContaining(previous?.itemsDone ?? []));
      previous = state;

      // Unless a compaction came between, the call reads the prefix its predecessor wrote, byte for byte.
      const before = bodies[k - 1];
      const written = before && breakpointsOf(before).at(-1)!;
      if (!written || JSON.stringify(before.messages[0]) !== JSON.stringify(body.messages[0])) continue;
      expect(prefixBytes(body, written.where)).toBe(prefixBytes(before, written.where));
      expect(points.map((p) => p.where)).toContain(written.where);
      pairs++;
    }
    expect(pairs).toBeGreaterThan(N * 0.9);
    // The last call shows every item but the one its own reply marks done.
    expect(previous?.itemsDone.length).toBeGreaterThanOrEqual(N - 1);
    expect(result.state.itemsDone).toEqual(expect.arrayContaining(previous!.itemsDone));
  });

  it("'system-state' renders the state into the system prompt with breakpoints, 'off' sets none", async () => {
    const n = 12;
    const control = recordingClient(h.simulator.url);
    const worker = await h.startWorker({ anthropic: control.anthropic });
    const runs = await worker.runUntil(async () => {
      const naive = await startAudit(h, 'system-state', n, { promptCache: 'system-state' });
      const naiveResult = await naive.handle.result();
      const naiveBodies = control.bodies.splice(0);
      const off = await startAudit(h, 'off', n, { promptCache: 'off' });
      return { naiveResult, naiveBodies, offResult: await off.handle.result(), offBodies: control.bodies.splice(0) };
    });
    const expected = auditReport(n, auditGroundTruth(n));
    expect([runs.naiveResult.report, runs.offResult.report]).toEqual([expected, expected]);

    const systems = new Set(runs.naiveBodies.map((b) => JSON.stringify(b.system)));
    expect(systems.size).toBeGreaterThan(n / 2);
    for (const body of runs.naiveBodies) {
      expect(readState((body.system as { text: string }[])[0]!.text)).not.toBeNull();
      expect(shownState(body)).toBeNull();
      expect(breakpointsOf(body).length).toBeGreaterThan(0);
    }
    for (const body of runs.offBodies) {
      expect(breakpointsOf(body)).toEqual([]);
      expect(shownState(body)).not.toBeNull();
    }
  });
});
