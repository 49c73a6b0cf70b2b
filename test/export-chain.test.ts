import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { ExportMessage, RunExport } from '../client/export.js';
import { progressQuery, respondUpdate } from '../common/messages.js';
import { DirectoryStore } from '../store/directory-store.js';
import { loadMessages } from '../store/transcript.js';
import { startAudit } from './helpers/audit-run.js';
import { cli } from './helpers/cli.js';
import { useHarness } from './helpers/harness.js';

// A low suggestion threshold makes the 250-turn run continue as new a few times.
const h = useHarness({ dynamicConfig: { 'limit.historyCount.suggestContinueAsNew': 1_500 } });

const FILES = 250;
/** The answers, in order of the escalations: a person approves each note, but denies one with a message. */
const answer = (n: number) =>
  n === 2
    ? { decision: 'deny' as const, message: 'Keep the notes in the report.', by: 'bob' }
    : { decision: 'approve' as const, by: 'alice' };

describe('export of a long run', () => {
  it('holds every turn with its number across compactions and continue-as-new, and every escalation with its outcome', async () => {
    const worker = await h.startWorker();
    const { handle } = await startAudit(h, 'export-chain', FILES, {
      maxTurns: FILES + 60,
      toolPolicies: { write_file: 'approve' },
    });
    let ended = false;
    const done = handle.result().finally(() => (ended = true));
    const answered: string[] = [];
    const result = await worker.runUntil(async () => {
      while (!ended) {
        // A query or update during a switch to the next run may fail: it is asked again.
        const open = (await handle.query(progressQuery).catch(() => undefined))?.escalation;
        if (open && !answered.includes(open.id)) {
          const reply = { escalationId: open.id, ...answer(answered.length + 1) };
          await handle.executeUpdate(respondUpdate, { args: [reply] }).then(
            () => answered.push(open.id),
            () => undefined,
          );
        }
        await Promise.race([done, sleep(100)]);
      }
      return done;
    });
    expect(result.status).toBe('completed');
    const turns = result.counters.turn;
    expect(turns).toBeGreaterThanOrEqual(250);
    expect(result.counters.compactions).toBeGreaterThanOrEqual(2);
    expect(result.chain.runNumber).toBeGreaterThan(1);
    expect(result.escalations.length).toBeGreaterThanOrEqual(5);
    expect(result.escalations.map((e) => e.id)).toEqual(answered);

    // The worker is gone: a finished run's export needs none.
    const env = { LONGHAUL_STORE_DIR: h.storeDir };
    const jsonFile = join(h.dir, 'run.json');
    const mdFile = join(h.dir, 'run.md');
    for (const args of [
      ['--json', '--out', jsonFile],
      ['--out', mdFile],
    ]) {
      const out = await cli(h.env.address, h.taskQueue, ['export', handle.workflowId, ...args], env);
      expect(out.stderr).toContain('written to');
      expect(out.code).toBe(0);
    }
    const doc = JSON.parse(await readFile(jsonFile, 'utf8')) as RunExport;
    const md = await readFile(mdFile, 'utf8');

    // Every turn from the first, in order, each a user message and its reply.
    const replies = doc.messages.filter((m) => m.message.role === 'assistant');
    expect(replies.map((m) => m.turn)).toEqual(Array.from({ length: turns }, (_, i) => i + 1));
    expect(doc.messages[0]).toMatchObject({ turn: 1, message: { role: 'user' } });
    for (const [i, m] of doc.messages.entries()) expect(m.turn).toBe(Math.floor(i / 2) + 1);
    // Every compaction summary in place, at the turn the run logged it.
    const summaries = doc.messages.filter((m): m is ExportMessage & { compaction: true } => m.compaction === true);
    expect(summaries.map((m) => m.turn)).toEqual(result.compactions.map((c) => c.turn));
    expect(summaries).toHaveLength(result.counters.compactions);
    // The messages are as the API got them: from the last summary on, what the model was last sent.
    const last = doc.messages.findLastIndex((m) => m.compaction);
    const store = new DirectoryStore(h.storeDir);
    expect(doc.messages.slice(last).map((m) => m.message)).toEqual(await loadMessages(store, result.head!));

    for (let t = 1; t <= turns; t++) expect(md).toMatch(new RegExp(`^### turn ${t}: assistant`, 'm'));
    expect(md.match(/^### turn \d+: assistant, compaction summary first$/gm)).toHaveLength(summaries.length);
    expect(md).not.toContain('turn unknown');

    // Every escalation with its outcome: who answered what, when.
    expect(doc.escalations.map((e) => [e.id, e.outcome?.decision, e.outcome?.by])).toEqual(
      answered.map((id, i) => [id, answer(i + 1).decision, answer(i + 1).by]),
    );
    for (const e of result.escalations) {
      expect(e.kind).toBe('tool_approval');
      expect(md).toContain(`#### escalation ${e.id}: tool_approval`);
      expect(md).toContain(`**${e.outcome.decision}** by ${e.outcome.by} at ${e.outcome.at}`);
      expect(md).toContain(`> ${e.question.split('\n')[0]}`);
    }
    expect(md).toContain('> Keep the notes in the report.');
    console.log(
      `export: ${turns} turns over ${result.chain.runNumber} runs, ${summaries.length} compactions, ${doc.escalations.length} escalations, ${md.length} characters of Markdown`,
    );
  });
});
