import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineAgent } from '../agents/define.js';
import { startRun } from '../client/connect.js';
import type { RunOptionsInput } from '../common/options.js';
import { readChain } from '../store/chain.js';
import { DirectoryStore } from '../store/directory-store.js';
import { defineTool } from '../tools/define.js';
import { workspaceTools } from '../tools/workspace-tools.js';
import { useHarness } from './helpers/harness.js';

/**
 * Done-when 1 of issue 16: the read-only calls of one reply run at the same time (the simulator's
 * hold probe sees them in flight together), at most maxParallelToolCalls at once, and their
 * results go back in the order of the calls, though they complete in the reverse order. A write
 * among them runs alone, in its place: the read after it sees it.
 */

const h = useHarness({
  worker: {
    agents: [
      defineAgent({
        name: 'looker',
        systemPrompt: 'You look things up.',
        toolPolicies: { write_file: 'allow' },
        tools: [
          ...workspaceTools,
          // A read that takes `ms` on the simulator's hold probe, under the probe key `key`.
          defineTool({
            name: 'lookup',
            description: 'Looks up a label.',
            input: z.object({ key: z.string(), label: z.string(), ms: z.number().int() }),
            sideEffectFree: true,
            run: async ({ key, label, ms }) => {
              const query = new URLSearchParams({ key, label, ms: String(ms) });
              const res = await fetch(`${h.simulator.url}/__sim/hold?${query.toString()}`);
              if (!res.ok) return { content: `hold failed: ${res.status}`, isError: true };
              return { content: `${label} found` };
            },
          }),
        ],
      }),
    ],
  },
});

let seq = 0;
const line = (tool: string, input: unknown) => `In one reply: call ${tool} with ${JSON.stringify(input)}`;

/** Runs the task to its end under `looker`; the report, the transcript and the probe of `key`. */
async function run(key: string, lines: string[], extra: Partial<RunOptionsInput> = {}) {
  const workspace = join(h.dir, `ws-${++seq}`);
  await mkdir(workspace, { recursive: true });
  const handle = await startRun(
    h.env.client,
    { task: lines.join('\n'), workspace, agent: 'looker', ...extra },
    { taskQueue: h.taskQueue, workflowId: `parallel-${seq}-${Date.now()}` },
  );
  const result = await handle.result();
  expect(result.status).toBe('completed');
  const chain = await readChain(new DirectoryStore(h.storeDir), result.head ?? null);
  return { report: result.report!, chain, probe: h.simulator.overlap(key), workspace };
}

/** The reply of tool calls (its tool_use ids) and the user message after it (its tool_result ids), in block order. */
function callsAndResults(chain: Awaited<ReturnType<typeof run>>['chain']) {
  const blocks = (i: number) => {
    const content = chain[i]?.message.content ?? [];
    return typeof content === 'string' ? [] : content;
  };
  const reply = chain.findIndex((e, i) => e.message.role === 'assistant' && blocks(i).length > 2);
  const uses = blocks(reply).flatMap((b) => (b.type === 'tool_use' ? [b.id] : []));
  const results = blocks(reply + 1).flatMap((b) => (b.type === 'tool_result' ? [b.tool_use_id] : []));
  return { uses, results };
}

const LABELS = ['a', 'b', 'c', 'd', 'e'];
// The first call takes longest: they complete in the reverse of the calls' order.
const lookups = (key: string) => LABELS.map((label, i) => line('lookup', { key, label, ms: 500 - 100 * i }));

describe('the read-only calls of one reply run at the same time', () => {
  it('five lookups are in flight at once; their results come back in the order of the calls', async () => {
    const key = `five-${Date.now()}`;
    const { report, chain, probe } = await run(key, lookups(key), { maxParallelToolCalls: 8 });
    expect(probe.maxInFlight).toBe(5);
    // They ended in the reverse order of the calls...
    const ended = [...probe.windows].sort((x, y) => x.endMs! - y.endMs!).map((w) => w.label);
    expect(ended).toEqual([...LABELS].reverse());
    // ...and the transcript and the report have them in the calls' order.
    const { uses, results } = callsAndResults(chain);
    expect(uses).toHaveLength(5);
    expect(results).toEqual(uses);
    expect(report).toBe(LABELS.map((l) => `lookup said: ${l} found`).join('\n'));
  });

  it('with maxParallelToolCalls 2, never more than two at once', async () => {
    const key = `two-${Date.now()}`;
    const { report, chain, probe } = await run(key, lookups(key), { maxParallelToolCalls: 2 });
    expect(probe.maxInFlight).toBe(2);
    expect(probe.windows).toHaveLength(5);
    const { uses, results } = callsAndResults(chain);
    expect(results).toEqual(uses);
    expect(report).toBe(LABELS.map((l) => `lookup said: ${l} found`).join('\n'));
  });

  it('a write among the reads runs alone, in its place: the read after it sees it', async () => {
    const key = `mixed-${Date.now()}`;
    const lines = [
      line('lookup', { key, label: 'a', ms: 300 }),
      line('lookup', { key, label: 'b', ms: 100 }),
      line('write_file', { path: 'note.txt', content: 'written between the reads' }),
      line('read_file', { path: 'note.txt' }),
      line('lookup', { key, label: 'c', ms: 200 }),
    ];
    const { report, chain, probe } = await run(key, lines, { toolPolicies: { write_file: 'allow' } });
    expect(report.split('\n')).toEqual([
      'lookup said: a found',
      'lookup said: b found',
      expect.stringMatching(/^write_file said: wrote \d+ bytes to note.txt$/),
      'read_file said: written between the reads',
      'lookup said: c found',
    ]);
    // a and b ran together; c, after the write, started once both were done.
    expect(probe.maxInFlight).toBe(2);
    const [a, b, c] = probe.windows;
    expect(c!.startMs).toBeGreaterThanOrEqual(Math.max(a!.endMs!, b!.endMs!));
    const { uses, results } = callsAndResults(chain);
    expect(results).toEqual(uses);
  });
});
