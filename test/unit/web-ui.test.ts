import { describe, expect, it } from 'vitest';
import { checkStopRequest, type Escalation } from '../../common/escalation.js';
import { parseRunOptions } from '../../common/options.js';
import {
  cliCommand,
  currentDetails,
  QUESTION_LINES,
  shortQuestion,
  signalAnswer,
  staticDetails,
  staticSummary,
  type DetailsSource,
} from '../../common/web-ui.js';
import { stopRefused } from '../../workflows/handlers.js';
import { nextStep } from '../../workflows/next-step.js';
import { memoryWith, optionsWith } from './fixtures.js';

const running: DetailsSource = {
  workflowId: 'run-1',
  status: 'running',
  turn: 12,
  maxTurns: 500,
  costNanos: 12_300_000,
  unpricedCalls: 0,
  compactions: 1,
  runInChain: 2,
  escalation: null,
  ignoredResponses: [],
};
const held: Escalation = {
  id: 'esc-3',
  kind: 'tool_approval',
  reason: 'the model wants to run write_file',
  question: 'Approve write_file a.txt (2 lines)?\n+one\n+two',
  heldToolCall: { id: 'toolu_1', name: 'write_file', input: {} },
  openedAt: '2026-12-02T10:00:00.000Z',
  deadline: '2026-12-03T10:00:00.000Z',
};

describe('current details', () => {
  it('a busy run: status, turn of cap, cost, compactions, place in the chain, and nothing to answer', () => {
    expect(currentDetails(running)).toBe('**Running** · turn 12 of 500 · $0.0123 · 1 compaction · run 2 of its chain');
  });

  it('a waiting run: the question with the approval detail, the deadline, and every fitting answer for the CLI and the signal form', () => {
    const text = currentDetails({ ...running, status: 'awaiting_human', escalation: held, onTimeout: 'deny' });
    expect(text).toContain('### esc-3 (tool_approval): the model wants to run write_file');
    expect(text).toContain('Held call: `write_file` (toolu_1)');
    expect(text).toContain('```text\nApprove write_file a.txt (2 lines)?\n+one\n+two\n```');
    expect(text).toContain('Answer by **2026-12-03T10:00:00.000Z** (then: deny).');
    expect(text).toContain(
      '- `longhaul approve run-1`\n- `longhaul deny run-1 --message "why not"`\n- `longhaul stop run-1`',
    );
    expect(text).toContain('- `{"escalationId":"esc-3","decision":"approve"}`');
    expect(text).toContain('- `{"escalationId":"esc-3","decision":"deny","message":"why not"}`');
    expect(text).not.toContain('reply');
  });

  it('extend answers name the cap: turns, tokens or dollars; a timeout that cannot deny stops', () => {
    const { heldToolCall: _, ...rest } = held;
    const cap = { ...rest, kind: 'cost_budget' as const };
    const text = currentDetails({ ...running, status: 'awaiting_human', escalation: cap, onTimeout: 'deny' });
    expect(text).toContain('`longhaul extend run-1 --usd 5`');
    expect(text).toContain('`{"escalationId":"esc-3","decision":"extend","usd":5}`');
    expect(text).toContain('(then: stop)');
    expect(cliCommand('run-1', 'turn_cap', 'extend')).toBe('longhaul extend run-1 --turns 50');
    expect(signalAnswer({ id: 'esc-1', kind: 'token_budget' }, 'extend')).toEqual({
      escalationId: 'esc-1',
      decision: 'extend',
      tokens: 100_000,
    });
    expect(cliCommand('run-1', 'model_request', 'reply')).toBe('longhaul reply run-1 "your answer"');
  });

  it('a workflow id that a shell would split is quoted', () => {
    expect(cliCommand("my run's id", 'tool_approval', 'approve')).toBe(`longhaul approve 'my run'\\''s id'`);
  });

  it('a question cannot close its fence, and a long one is cut saying where it is whole', () => {
    const sneaky = { ...held, question: 'Approve x?\n````\n# not a heading' };
    expect(currentDetails({ ...running, status: 'awaiting_human', escalation: sneaky })).toContain(
      '`````text\nApprove x?\n````\n# not a heading\n`````',
    );
    const long = Array.from({ length: QUESTION_LINES + 10 }, (_, n) => `line ${n}`).join('\n');
    const cut = shortQuestion(long);
    expect(cut.split('\n')).toHaveLength(QUESTION_LINES + 1);
    expect(cut).toMatch(/… \(cut; `longhaul held <id>` or the `escalation` query shows it whole\)$/);
    expect(shortQuestion('x'.repeat(5_000)).length).toBeLessThan(2_100);
  });

  it('the last ignored answer and its reason show, so an ignored signal does not look accepted', () => {
    const ignoredResponses = [
      { reason: 'no open escalation esc-9', at: '2026-12-02T10:00:00.000Z' },
      { reason: 'deny needs a message: the model is told why', at: '2026-12-02T10:05:00.000Z' },
    ];
    expect(currentDetails({ ...running, ignoredResponses })).toContain(
      '**Last ignored answer** (2026-12-02T10:05:00.000Z; 2 ignored so far): deny needs a message: the model is told why',
    );
  });

  it('an ended run gives its reason; a continued one points to the live run; no answers are offered then', () => {
    const stopped = currentDetails({
      ...running,
      status: 'stopped',
      reason: 'stopped by ana: enough',
      escalation: held,
    });
    expect(stopped).toBe(
      '**Stopped** · turn 12 of 500 · $0.0123 · 1 compaction · run 2 of its chain\n\nReason: stopped by ana: enough',
    );
    expect(currentDetails({ ...running, status: 'continued' })).toContain('handed on to run 3 of the chain');
  });
});

describe('static summary and details', () => {
  it("the summary is the agent and the task's first line, cut to one list line", () => {
    expect(staticSummary({ task: '  Audit the files\nthen report', agent: 'auditor' })).toBe(
      'auditor: Audit the files',
    );
    expect(staticSummary({ task: 'x'.repeat(500) })).toHaveLength(121);
  });

  it('the details give model, caps, workspace and the escalation timeout, never the prompt or the webhook', () => {
    const submitted = {
      task: 't',
      workspace: 'ws',
      maxTurns: 40,
      systemPrompt: 'SECRET PROMPT',
      escalation: { webhookUrl: 'https://hooks.invalid/token-abc' },
    };
    const parsed = parseRunOptions(submitted);
    if (!parsed.ok) throw new Error(parsed.error);
    const text = staticDetails(submitted, parsed.options);
    expect(text).toContain('- Turn cap: 40\n');
    expect(text).toContain(`- Model: ${parsed.options.model} (default)`);
    expect(text).toContain('- Dollar budget: none (default)');
    expect(text).toContain('- Workspace: ws');
    expect(text).toContain('- A person has 86400 s (default) to answer; then: deny (default)');
    expect(text).not.toMatch(/SECRET|token-abc/);
  });
});

describe('stopRun', () => {
  const memory = memoryWith();
  it('refuses a malformed argument, a second stop, and a run that is ending', () => {
    expect(checkStopRequest({ by: 'ana', message: 'enough' })).toEqual({
      ok: true,
      request: { by: 'ana', message: 'enough' },
    });
    expect(stopRefused({ memory, status: 'running' }, 'stop')).toMatch(/^stopRun takes \{by, message\?\}: input: /);
    expect(stopRefused({ memory, status: 'running' }, { by: 'ana' })).toBeNull();
    expect(stopRefused({ memory, status: 'awaiting_human' }, { by: 'ana' })).toBeNull();
    expect(stopRefused({ memory: { ...memory, stopRequest: { by: 'bo' } }, status: 'running' }, { by: 'ana' })).toBe(
      'the run is already stopping (asked by bo)',
    );
    expect(stopRefused({ memory, status: 'completed' }, { by: 'ana' })).toBe('the run is already ending (completed)');
    expect(stopRefused({ memory: { ...memory, report: 'done' }, status: 'running' }, { by: 'ana' })).toBe(
      'the run has its report and is completing',
    );
  });

  it('a stop requested is the next step, before a pending call or a continue-as-new', () => {
    const options = optionsWith({});
    const stopping = memoryWith({ stopRequest: { by: 'ana' } });
    expect(nextStep(stopping, options, { continueAsNewSuggested: true })).toEqual({ kind: 'stop' });
  });
});
