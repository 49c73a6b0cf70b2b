import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { Worker } from '@temporalio/worker';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { discardWorkflowSpans } from '../worker/telemetry.js';

const dir = fileURLToPath(new URL('./histories', import.meta.url));

/**
 * The non-determinism guard: histories recorded from real runs (plain, compaction with
 * continue-as-new, escalation, continue-as-new while a person is asked) must replay against the
 * current workflow code. A change that breaks this needs `patched()` (docs/workflow-changes.md).
 */
describe('recorded histories replay against the current workflow code', async () => {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.json')).sort();

  it('covers every kind of run', () => {
    for (const kind of ['plain', 'compaction', 'escalation', 'continue-as-new']) {
      expect(files.some((f) => f.startsWith(`${kind}-`))).toBe(true);
    }
    expect(files.filter((f) => f.startsWith('continue-as-new-')).length).toBeGreaterThanOrEqual(2);
  });

  it.each(files)('%s', async (file) => {
    const history = historyFromJSON(JSON.parse(await readFile(join(dir, file), 'utf8')));
    const results = [];
    for await (const result of Worker.runReplayHistories(
      // The bundle's tracing interceptors send spans to a sink; a replay has nowhere to send them.
      { workflowBundle: { codePath: process.env.LONGHAUL_WORKFLOW_BUNDLE! }, sinks: discardWorkflowSpans },
      [{ workflowId: file, history }],
    )) {
      results.push(result);
    }
    expect(results).toHaveLength(1);
    expect(results[0]!.error).toBeUndefined();
  });
});
