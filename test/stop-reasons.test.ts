import type { temporal } from '@temporalio/proto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { awaitResult } from '../client/export.js';
import { answer } from '../client/escalations.js';
import { startRun } from '../client/connect.js';
import type { ModelCallResult } from '../common/contracts.js';
import { contextTokens } from '../common/counters.js';
import { progressQuery } from '../common/messages.js';
import { auditGroundTruth, auditReport } from '../simulator/scenarios/audit.js';
import { blocksOf } from '../simulator/protocol.js';
import { DirectoryStore } from '../store/directory-store.js';
import { loadMessages } from '../store/transcript.js';
import { startAudit, TRIGGER } from './helpers/audit-run.js';
import { useHarness } from './helpers/harness.js';

/** Polls until `check` holds, within a generous minute. */
async function waitFor(check: () => boolean | Promise<boolean>): Promise<void> {
  for (const deadline = Date.now() + 60_000; !(await check());) {
    if (Date.now() > deadline) throw new Error('condition not met within 60 s');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Stop reasons and model failures end to end: the real SDK against the simulator, a real worker and dev server. */
const h = useHarness({ worker: {} });

/** An audit turn's growth of the context (a file read, an update, the text): ~1.1K estimated tokens, with room. */
const ONE_TURN = 2_000;

/** Every model activity result of a chain of runs (followed across continue-as-new), in order, with its activity. */
async function modelCalls(handle: { workflowId: string; firstExecutionRunId: string }) {
  const calls: { activity: string; result: ModelCallResult }[] = [];
  let runId: string | null | undefined = handle.firstExecutionRunId;
  while (runId) {
    const history: temporal.api.history.v1.IHistory = await h.env.client.workflow
      .getHandle(handle.workflowId, runId)
      .fetchHistory();
    const events = history.events ?? [];
    const types = new Map<string, string>();
    runId = null;
    for (const e of events) {
      const scheduled = e.activityTaskScheduledEventAttributes;
      if (scheduled) types.set(String(e.eventId), scheduled.activityType?.name ?? '');
      const done = e.activityTaskCompletedEventAttributes;
      const activity = done ? types.get(String(done.scheduledEventId)) : undefined;
      const data = done?.result?.payloads?.[0]?.data;
      if ((activity === 'callModel' || activity === 'compactTranscript') && data)
        calls.push({ activity, result: JSON.parse(Buffer.from(data).toString()) as ModelCallResult });
      const next: string | null | undefined = e.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId;
      if (next) runId = next;
    }
  }
  return calls;
}

async function probe(task: string, extra: Record<string, unknown> = {}) {
  const workspace = join(h.dir, `${task.replace(/\W/g, '')}-${Date.now()}`);
  await mkdir(workspace, { recursive: true });
  return startRun(
    h.env.client,
    { task, workspace, model: 'claude-sonnet-5-5', ...extra },
    { taskQueue: h.taskQueue, workflowId: `stop-${Date.now()}-${Math.random().toString(36).slice(2, 6)}` },
  );
}

describe('after a forced on-demand compaction', () => {
  it('no later call reads more than the trigger plus one turn: longhaul compacts on demand at the trigger itself', async () => {
    const { handle } = await startAudit(h, 'trap', 80, { compaction: { trigger: TRIGGER } });
    // Early in the run (about 15K tokens, far below the trigger), one call finds its context too
    // large for the model: the on-demand block then heads the transcript for the rest of the run.
    await waitFor(() => h.simulator.stats().messages >= 12);
    h.simulator.injectFaults([{ contextWindowExceeded: true, match: 'messages' }]);
    const result = await handle.result();
    expect(result.report).toBe(auditReport(80, auditGroundTruth(80)));

    const calls = await modelCalls(handle);
    const forced = calls.findIndex((c) => c.result.stopReason === 'model_context_window_exceeded');
    expect(forced).toBeGreaterThan(0);
    const after = calls.slice(forced + 1);
    expect(after[0]!.activity).toBe('compactTranscript');
    const answering = after.filter((c) => c.activity === 'callModel');
    // Behind the on-demand block: no threshold edit is sent, so only longhaul can keep the context down.
    expect(answering.every((c) => c.result.onDemand === true)).toBe(true);
    const largest = Math.max(...answering.map((c) => contextTokens(c.result.usage)));
    expect(largest).toBeLessThanOrEqual(TRIGGER + ONE_TURN);
    // Not vacuous: the context reached the trigger and was compacted there, without the window's help.
    const atTrigger = after.filter((c, i) => i > 0 && c.activity === 'compactTranscript');
    expect(atTrigger.length).toBeGreaterThanOrEqual(1);
    expect(largest).toBeGreaterThanOrEqual(TRIGGER);
    expect(result.counters.compactions).toBe(1 + atTrigger.length);
    expect(result.chain.runNumber).toBeGreaterThan(1 + atTrigger.length);
  });
});

describe('a refusal', () => {
  it('is dropped from the transcript as the SDK drops it; the guidance joins the user message before it', async () => {
    const handle = await probe('[sim:refuse]');
    await waitFor(async () => (await handle.query(progressQuery)).escalation?.kind === 'refusal');
    await answer(h.env.client, handle.workflowId, 'reply', { message: 'it is a sanctioned test' });
    const result = await handle.result();
    expect(result.report).toBe('after refusal: A person says: it is a sanctioned test');
    const messages = await loadMessages(new DirectoryStore(h.storeDir), result.head!);
    expect(messages.map((m) => m.role)).toEqual(['user', 'assistant']);
    const texts = messages.flatMap((m) => blocksOf(m as never)).flatMap((b) => (b.type === 'text' ? [b.text] : []));
    expect(texts).not.toContain('I cannot help with that.');
    expect(texts).toContain('A person says: it is a sanctioned test');
  });
});

describe('a model the API does not know', () => {
  it('fails the run at its first call with one line naming the model, and nothing is asked again', async () => {
    const before = h.simulator.stats().requests;
    // The simulator answers an id the SDK does not know as the API does: 404 not_found_error.
    const handle = await probe('[sim:call list_files] {}', { model: 'claude-sonet-5-5' });
    const result = await awaitResult(handle);
    expect(result.status).toBe('failed');
    expect(result.reason).toBe(
      'the API does not know the model "claude-sonet-5-5" (404 not_found_error: model: claude-sonet-5-5); check the run\'s model',
    );
    expect(result.escalations).toEqual([]);
    const failure = await handle.result().catch((err: Error & { cause?: Error }) => err.cause?.message);
    expect(failure).toBe(`run failed: ${result.reason}`);
    expect(h.simulator.stats().requests - before).toBe(1);
  });
});
