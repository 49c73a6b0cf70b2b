import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { RunExport } from '../client/export.js';
import { progressQuery, respondUpdate } from '../common/messages.js';
import { DirectoryStore } from '../store/directory-store.js';
import { readChain } from '../store/chain.js';
import { loadMessages, readNode } from '../store/transcript.js';
import { startAudit, TRIGGER } from './helpers/audit-run.js';
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
    expect(doc.turns).toHaveLength(doc.messages.length);
    expect(doc.messages.map((m) => m.role)).toEqual(doc.messages.map((_, i) => (i % 2 ? 'assistant' : 'user')));
    expect(doc.turns).toEqual(doc.messages.map((_, i) => Math.floor(i / 2) + 1));
    expect(doc.turns.at(-1)).toBe(turns);
    // Every compaction summary in place, at the turn the run logged it.
    const cuts = doc.messages.flatMap((m, i) =>
      Array.isArray(m.content) && m.content[0]?.type === 'compaction' ? [i] : [],
    );
    expect(cuts.map((i) => doc.turns[i])).toEqual(result.compactions.map((c) => c.turn));
    expect(cuts).toHaveLength(result.counters.compactions);
    // The messages are as the API got them: from the last summary on, what the model was last sent.
    const store = new DirectoryStore(h.storeDir);
    expect(doc.messages.slice(cuts.at(-1))).toEqual(await loadMessages(store, result.head!));

    for (let t = 1; t <= turns; t++) expect(md).toMatch(new RegExp(`^### assistant, turn ${t}( |$)`, 'm'));
    expect(md.match(/^### assistant, turn \d+ \(compaction summary first\)$/gm)).toHaveLength(cuts.length);
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
      // After the reply whose call it held, before the next reply.
      expect(e.turn).toBeDefined();
      const at = md.indexOf(`#### escalation ${e.id}: tool_approval, turn ${e.turn}\n`);
      expect(at).toBeGreaterThan(md.indexOf(`### assistant, turn ${e.turn}\n`));
      const next = md.indexOf(`### assistant, turn ${e.turn! + 1}\n`);
      expect(at).toBeLessThan(next < 0 ? md.indexOf('## Report') : next);
    }
    expect(md).toContain('> Keep the notes in the report.');
    console.log(
      `export: ${turns} turns over ${result.chain.runNumber} runs, ${cuts.length} compactions, ${doc.escalations.length} escalations, ${md.length} characters of Markdown`,
    );
  });

  it('an on-demand compaction (the context window exceeded) keeps the turns before it in the record', async () => {
    const worker = await h.startWorker();
    const { handle } = await startAudit(h, 'export-on-demand', 40, { compaction: { trigger: TRIGGER } });
    const result = await worker.runUntil(async () => {
      // Early in the run, one call finds its context too large: the summary then heads what the model sees.
      while (h.simulator.stats().messages < 12) await sleep(50);
      h.simulator.injectFaults([{ contextWindowExceeded: true, match: 'messages' }]);
      return handle.result();
    });
    expect(result.status).toBe('completed');
    const store = new DirectoryStore(h.storeDir);
    const chain = await readChain(store, result.head!);
    const seen = await loadMessages(store, result.head!);
    expect(seen.length).toBeLessThan(chain.length);
    expect(chain.slice(chain.length - seen.length).map((e) => e.message)).toEqual(seen);
    expect(chain[0]).toMatchObject({ turn: 1, compaction: false, message: { role: 'user' } });
    const replies = chain.filter((e) => e.message.role === 'assistant').map((e) => e.turn!);
    expect(replies[0]).toBe(1);
    expect(replies.every((t, i) => i === 0 || t > replies[i - 1]!)).toBe(true);
    expect(replies.at(-1)).toBe(result.counters.turn);
    expect(chain.filter((e) => e.compaction).map((e) => e.turn)).toEqual(result.compactions.map((c) => c.turn));
    // Not vacuous: the first cut is the on-demand block, with what was before it kept.
    const cut = chain.find((e) => e.compaction)!;
    expect(await readNode(store, cut.ref)).toMatchObject({ prev: null, onDemand: true, before: expect.any(String) });
  });
});
