import Anthropic from '@anthropic-ai/sdk';
import { MockActivityEnvironment } from '@temporalio/testing';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { createActivities, MAX_RESULT_CHARS, PREVIEW_CHARS } from '../activities/index.js';
import type { PendingBlock, ToolRunInput } from '../common/contracts.js';
import { DirectoryStore } from '../store/directory-store.js';
import { READ_CHUNK_CHARS, workspaceTools } from '../tools/workspace-tools.js';
import { defineTool } from '../tools/define.js';
import { TEST_WORKER_DEFAULTS } from './helpers/test-worker.js';

const huge = 'x'.repeat(MAX_RESULT_CHARS * 3);
const dump = defineTool({
  name: 'dump',
  description: 'returns a very large output',
  input: z.object({}).strict(),
  sideEffectFree: true,
  run: async () => ({ content: huge }),
});

async function setup() {
  const dir = await mkdtemp(join(tmpdir(), 'longhaul-out-'));
  const store = new DirectoryStore(join(dir, 'store'));
  const activities = createActivities({
    anthropic: new Anthropic({ apiKey: 'unused' }),
    store,
    tools: [...workspaceTools, dump],
    ...TEST_WORKER_DEFAULTS,
  });
  const run = (name: string, input: unknown) =>
    new MockActivityEnvironment().run<[ToolRunInput], PendingBlock, typeof activities.runTool>(activities.runTool, {
      workflowId: 'wf',
      turn: 1,
      workspace: dir,
      call: { id: `t-${name}`, name, input },
    });
  return { dir, store, run };
}

describe('large tool outputs', () => {
  it('above the limit: the model gets a preview with a note; the whole output stays in the store', async () => {
    const { store, run } = await setup();
    const block = await run('dump', {});
    expect(block.type === 'tool_result' && 'contentRef' in block).toBe(true);
    const shown = await store.get((block as { contentRef: `sha256:${string}` }).contentRef);
    expect(shown.length).toBeLessThan(PREVIEW_CHARS + 200);
    const note =
      /\[output truncated: the first 8000 of (\d+) characters are shown; the whole output is stored as (sha256:[0-9a-f]{64})\]$/.exec(
        shown,
      );
    expect(note?.[1]).toBe(String(huge.length));
    expect(await store.get(note![2] as `sha256:${string}`)).toBe(huge);
  });

  it('small outputs stay inline; medium ones go by reference whole', async () => {
    const { dir, store, run } = await setup();
    await writeFile(join(dir, 'small.txt'), 'tiny');
    await writeFile(join(dir, 'medium.txt'), 'm'.repeat(5_000));
    expect(await run('read_file', { path: 'small.txt' })).toEqual({
      type: 'tool_result',
      tool_use_id: 't-read_file',
      content: 'tiny',
    });
    const medium = await run('read_file', { path: 'medium.txt' });
    expect(await store.get((medium as { contentRef: `sha256:${string}` }).contentRef)).toBe('m'.repeat(5_000));
  });

  it('read_file reads a long file in parts', async () => {
    const { dir, store, run } = await setup();
    const text = Array.from({ length: 3 * READ_CHUNK_CHARS }, (_, i) => String.fromCharCode(97 + (i % 26))).join('');
    await writeFile(join(dir, 'long.txt'), text);
    const first = await store.get(
      ((await run('read_file', { path: 'long.txt' })) as { contentRef: `sha256:${string}` }).contentRef,
    );
    expect(first).toBe(
      `${text.slice(0, READ_CHUNK_CHARS)}\n[${2 * READ_CHUNK_CHARS} more characters: read_file with offset ${READ_CHUNK_CHARS}]`,
    );
    const last = await store.get(
      (
        (await run('read_file', { path: 'long.txt', offset: 2 * READ_CHUNK_CHARS })) as {
          contentRef: `sha256:${string}`;
        }
      ).contentRef,
    );
    expect(last).toBe(text.slice(2 * READ_CHUNK_CHARS));
  });
});
