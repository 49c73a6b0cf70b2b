import type Anthropic from '@anthropic-ai/sdk';
import { describe, expect, it } from 'vitest';
import { exportMarkdown, MARKDOWN_LIMIT, type ExportEscalation, type RunExport } from '../client/export.js';
import { initialCounters } from '../common/counters.js';
import { progress } from './helpers/progress.js';
import { initialState } from '../common/state.js';

type MessageParam = Anthropic.Beta.Messages.BetaMessageParam;

/** Messages numbered as a run from its start writes them: a user message and its reply make a turn. */
const numbered = (messages: MessageParam[], first = 1) => ({
  messages,
  turns: messages.map((_, i) => first + Math.floor(i / 2)),
});

const doc = (
  { messages, turns }: Pick<RunExport, 'messages' | 'turns'>,
  escalations: ExportEscalation[] = [],
): RunExport => ({
  id: 'run-1',
  status: 'running',
  counters: initialCounters(),
  cost: { usd: 0, unpricedCalls: 0, cacheReadShare: 0 },
  maxTurns: 500,
  compactions: [],
  escalations,
  chain: { runNumber: 1, turnsAtStart: 0, compactionsAtStart: 0 },
  state: initialState(),
  instructions: { systemPrompt: 'Be careful.', task: 'Audit it.' },
  messages,
  turns,
});

const text = (role: 'user' | 'assistant', t: string): MessageParam => ({ role, content: [{ type: 'text', text: t }] });

const approval = (id: string, turn?: number): ExportEscalation => ({
  id,
  kind: 'tool_approval',
  reason: 'write_file needs approval',
  question: `May I write notes ${id}?`,
  heldToolCall: { id: `tu_${id}`, name: 'write_file', input: {}, display: 'write_file notes.md' },
  openedAt: '2026-12-02T10:00:00.000Z',
  deadline: '2026-12-03T10:00:00.000Z',
  outcome: { decision: 'deny', message: 'Not there.', by: 'alice', at: '2026-12-02T10:05:00.000Z' },
  ...(turn !== undefined ? { turn } : {}),
});

describe('exportMarkdown', () => {
  it('cuts a long tool result with a note, and fences output that holds backticks', () => {
    const long = 'x'.repeat(MARKDOWN_LIMIT + 500);
    const md = exportMarkdown(
      doc(
        numbered([
          text('user', 'Begin.'),
          {
            role: 'assistant',
            content: [{ type: 'tool_use', id: 'tu_1', name: 'read_file', input: { path: 'a.md' } }],
          },
          {
            role: 'user',
            content: [
              { type: 'tool_result', tool_use_id: 'tu_1', content: long, is_error: true },
              { type: 'tool_result', tool_use_id: 'tu_2', content: 'a ``` fence' },
            ],
          },
        ]),
      ),
      progress(),
    );
    expect(md).toContain('## System prompt\n\nBe careful.\n\n## Task\n\nAudit it.\n');
    expect(md).toContain(
      '### assistant, turn 1\n\n**tool call** `read_file` (tu_1)\n\n```json\n{\n  "path": "a.md"\n}\n```',
    );
    expect(md).toContain('```\n\n### user\n\n**tool result** for tu_1 (error)');
    expect(md).toContain(
      `**tool result** for tu_1 (error)\n\n\`\`\`\n${'x'.repeat(MARKDOWN_LIMIT)}\n[truncated: the first ${MARKDOWN_LIMIT} of ${long.length} characters are shown; --format json has all of it]\n\`\`\``,
    );
    expect(md).toContain('**tool result** for tu_2\n\n````\na ``` fence\n````');
  });

  it('keeps turn numbers across a compaction, with the summary in place', () => {
    const md = exportMarkdown(
      doc(
        numbered(
          [
            text('user', 'Go on.'),
            {
              role: 'assistant',
              content: [
                { type: 'compaction', content: 'Files 1-40 audited; 3 high risk.' },
                { type: 'text', text: 'Going on.' },
              ],
            },
            text('user', 'Continue.'),
          ],
          41,
        ),
      ),
      progress(),
    );
    expect(md).toContain(
      '### assistant, turn 41 (compaction summary first)\n\n[compaction summary: Files 1-40 audited; 3 high risk.]\n\nGoing on.\n\n### user\n\nContinue.\n',
    );
    expect(md).not.toContain('turn unknown');
  });

  it('a record from before turns were kept starts at its summary, turns unknown', () => {
    const md = exportMarkdown(
      doc({
        messages: [{ role: 'assistant', content: [{ type: 'compaction', content: 'S.' }] }, text('user', 'Continue.')],
        turns: [null, null],
      }),
      progress(),
    );
    expect(md).toContain('_The record starts at a compaction summary: the run kept nothing of the turns before it._');
    expect(md).toContain(
      '### assistant (turn unknown) (compaction summary first)\n\n[compaction summary: S.]\n\n### user\n\nContinue.',
    );
  });

  it('places each escalation after the turn that raised it, with who answered what and when; the rest at the end', () => {
    const open: ExportEscalation = { ...approval('esc-4', 3), outcome: undefined };
    const md = exportMarkdown(
      doc(numbered(['a', 'b', 'c', 'd', 'e', 'f'].map((t, i) => text(i % 2 ? 'assistant' : 'user', t))), [
        approval('esc-1', 1),
        approval('esc-2'),
        open,
      ]),
      progress(),
    );
    const at = (s: string) => md.indexOf(s);
    expect(at('#### escalation esc-1: tool_approval, turn 1')).toBeGreaterThan(at('### assistant, turn 1'));
    expect(at('#### escalation esc-1')).toBeLessThan(at('### user\n\nc\n'));
    expect(md).toContain(
      '#### escalation esc-1: tool_approval, turn 1\n\nopened 2026-12-02T10:00:00.000Z, deadline 2026-12-03T10:00:00.000Z\n\n> May I write notes esc-1?\n\nheld call: write_file notes.md\n\n**deny** by alice at 2026-12-02T10:05:00.000Z\n\n> Not there.',
    );
    expect(at('#### escalation esc-4: tool_approval, turn 3')).toBeGreaterThan(at('### assistant, turn 3'));
    expect(md).toContain('**open**: waiting on a person');
    expect(at('## Escalations')).toBeGreaterThan(at('#### escalation esc-4'));
    expect(at('#### escalation esc-2: tool_approval\n')).toBeGreaterThan(at('## Escalations'));
  });
});
