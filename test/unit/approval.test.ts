import { afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { pendingTable } from '../../client/escalations.js';
import { progressLine, questionParts } from '../../client/format.js';
import { admitOptions, ceilingOf, type AdmissionSite } from '../../common/admission.js';
import { APPROVAL_DETAIL_CHARS, approvalDetailText } from '../../common/call-display.js';
import type { Escalation } from '../../common/escalation.js';
import { toolsToApprove } from '../../common/options.js';
import { buildProgress } from '../../common/progress.js';
import { APPROVAL_ANSWER_MS, approvalFields, approvalWaived } from '../../tools/approval.js';
import { defineTool, type ToolDefinition } from '../../tools/define.js';
import { assembleToolset } from '../../tools/toolset.js';
import { approvalQuestion } from '../../workflows/tool-calls.js';
import { deployTool } from '../helpers/deploy-tool.js';
import { call, memoryWith, optionsWith } from './fixtures.js';

const ctx = { workspace: '/ws' };
const tool = (over: Partial<ToolDefinition>): ToolDefinition =>
  defineTool({
    name: 'deploy',
    description: 'd',
    input: z.object({ target: z.string() }),
    sideEffectFree: false,
    run: async () => ({ content: 'ok' }),
    ...over,
  });

describe("a tool's needsApproval and approvalDetail, asked on the worker", () => {
  afterEach(() => vi.useRealTimers());

  it('false waives the person; true keeps the call held, with the detail a person will see', async () => {
    expect(await approvalFields(deployTool, { target: 'staging', version: '1.2' }, ctx)).toEqual({
      needsApproval: false,
    });
    expect(await approvalFields(deployTool, { target: 'prod', version: '1.2' }, ctx)).toEqual({
      approvalDetail: 'release 1.2 goes to prod\nbuilt from /ws',
    });
    expect(await approvalWaived(deployTool, { target: 'staging', version: '1' }, ctx)).toBe(true);
    expect(await approvalWaived(deployTool, { target: 'prod', version: '1' }, ctx)).toBe(false);
  });

  it('the tool gets its input as its schema gives it (defaults applied), and the run workspace', async () => {
    const seen: unknown[] = [];
    const t = tool({
      input: z.object({ target: z.string().default('staging') }),
      needsApproval: (input, c) => {
        seen.push(input, c);
        return true;
      },
    });
    await approvalFields(t, {}, ctx);
    expect(seen).toEqual([{ target: 'staging' }, ctx]);
  });

  it('a throwing, hanging or non-boolean needsApproval, or an input the schema refuses, needs a person', async () => {
    const throwing = tool({
      needsApproval: () => {
        throw new Error('boom');
      },
      approvalDetail: async () => 'the detail',
    });
    expect(await approvalFields(throwing, { target: 'x' }, ctx)).toEqual({ approvalDetail: 'the detail' });
    expect(await approvalWaived(throwing, { target: 'x' }, ctx)).toBe(false);
    const falsy = tool({ needsApproval: (() => 0) as never });
    expect(await approvalWaived(falsy, { target: 'x' }, ctx)).toBe(false);
    const permissive = tool({ needsApproval: () => false });
    expect(await approvalWaived(permissive, { target: 42 }, ctx)).toBe(false);
    expect(await approvalFields(permissive, { target: 42 }, ctx)).toEqual({});

    vi.useFakeTimers();
    const hanging = tool({ needsApproval: () => new Promise<boolean>(() => {}) });
    const asked = approvalWaived(hanging, { target: 'x' }, ctx);
    await vi.advanceTimersByTimeAsync(APPROVAL_ANSWER_MS);
    expect(await asked).toBe(false);
  });

  it('a throwing, empty or absent detail is no detail; a tool with neither function decides nothing', async () => {
    const throwing = tool({
      approvalDetail: async () => {
        throw new Error('git not found');
      },
    });
    expect(await approvalFields(throwing, { target: 'x' }, ctx)).toEqual({});
    expect(await approvalFields(tool({ approvalDetail: async () => '' }), { target: 'x' }, ctx)).toEqual({});
    expect(await approvalFields(tool({ approvalDetail: async () => undefined }), { target: 'x' }, ctx)).toEqual({});
    expect(await approvalFields(tool({}), { target: 'x' }, ctx)).toEqual({});
    expect(await approvalWaived(tool({}), { target: 'x' }, ctx)).toBe(false);
  });

  it('a detail keeps its lines and tabs; other controls and disguising characters are escaped; it is cut at the bound', () => {
    const detail = '--- a/x\n+++ b/x\n\t+ok\x1b[2K\rhidden\u202eevil';
    expect(approvalDetailText(detail)).toBe('--- a/x\n+++ b/x\n\t+ok\\u001b[2K\\u000dhidden\\u202eevil');
    const long = approvalDetailText('d'.repeat(APPROVAL_DETAIL_CHARS * 3));
    expect(long).toBe(`${'d'.repeat(APPROVAL_DETAIL_CHARS)}…`);
  });
});

describe("a tool's own policy", () => {
  it("is its toolset's default: its policy, else 'approve' with needsApproval; tools with neither have none", () => {
    const toolset = assembleToolset('t', [
      deployTool,
      tool({ name: 'drop_table', policy: 'deny' }),
      tool({ name: 'lookup', policy: 'allow', needsApproval: () => true }),
      tool({ name: 'plain' }),
    ]);
    expect(toolset.defaultPolicies).toEqual({ deploy: 'approve', drop_table: 'deny', lookup: 'allow' });
  });

  it('a policy that is not allow, approve or deny fails where the tool list is checked', () => {
    expect(() => assembleToolset('agent ops', [tool({ policy: 'ask' as never })])).toThrow(
      'agent ops: tool deploy: policy "ask" is not one of allow, approve, deny',
    );
  });

  it('is the ceiling only where the agent or the worker names no policy, and above the built-in defaults', () => {
    const toolDefaults = { deploy: 'approve', write_file: 'allow' } as const;
    expect(ceilingOf({ workerPolicies: {}, toolDefaults })).toEqual(toolDefaults);
    expect(ceilingOf({ workerPolicies: { deploy: 'allow' }, toolDefaults })).toEqual({
      deploy: 'allow',
      write_file: 'allow',
    });
    const agent = { name: 'ops', defaults: { toolPolicies: { deploy: 'deny' as const } } };
    expect(ceilingOf({ agent, workerPolicies: { deploy: 'allow' }, toolDefaults })).toEqual({
      deploy: 'deny',
      write_file: 'allow',
    });
  });

  it('a run may narrow it, never widen it; an admitted run names it explicitly', () => {
    const site: AdmissionSite = {
      workerPolicies: {},
      toolDefaults: { deploy: 'approve' },
      tools: ['deploy'],
      webhookAllow: [],
    };
    const run = { task: 't', workspace: 'ws' };
    expect(admitOptions({ ...run, toolPolicies: { deploy: 'allow' } }, site)).toEqual({
      ok: false,
      error:
        'toolPolicies.deploy: allow is wider than this worker allows (approve); a run may narrow its tool policies, never widen them',
    });
    const admitted = admitOptions(run, site);
    expect(admitted.ok && admitted.options.toolPolicies).toEqual({ deploy: 'approve' });
    const narrowed = admitOptions({ ...run, toolPolicies: { deploy: 'deny' } }, site);
    expect(narrowed.ok && narrowed.options.toolPolicies).toEqual({ deploy: 'deny' });
  });
});

describe('which calls the model call decides', () => {
  it("the tools under 'approve' in the run: its own policies' and the built-in defaults' (write_file)", () => {
    expect(toolsToApprove(optionsWith({ toolPolicies: { deploy: 'approve', read_file: 'deny' } }))).toEqual([
      'deploy',
      'write_file',
    ]);
    expect(toolsToApprove(optionsWith({ toolPolicies: { write_file: 'allow', list_files: 'allow' } }))).toEqual([]);
  });
});

describe('what a person is asked about a held call', () => {
  const held = { ...call('deploy', { target: 'prod', version: '1.2' }), display: 'deploy target="prod" version="1.2"' };
  const escalation = (question: string): Escalation => ({
    id: 'esc-1',
    kind: 'tool_approval',
    reason: 'the model wants to run deploy',
    question,
    heldToolCall: held,
    openedAt: '2026-01-01T00:00:00.000Z',
    deadline: '2026-01-02T00:00:00.000Z',
  });

  it("the call's line, and below it the approval detail; without one (runs recorded before), the line only", () => {
    const question = approvalQuestion({ ...held, approvalDetail: 'release 1.2 goes to prod\nbuilt from /ws' });
    expect(question).toBe('Approve deploy target="prod" version="1.2"?\nrelease 1.2 goes to prod\nbuilt from /ws');
    expect(approvalQuestion(held)).toBe('Approve deploy target="prod" version="1.2"?');
    expect(questionParts({ kind: 'tool_approval', question })).toEqual({
      line: 'Approve deploy target="prod" version="1.2"?',
      below: '    release 1.2 goes to prod\n    built from /ws',
    });
    expect(questionParts({ kind: 'tool_approval', question: 'Approve x?' })).toEqual({
      line: 'Approve x?',
      below: null,
    });
    // A person's question from the model is its own: shown as the model wrote it.
    const asked = { kind: 'model_request' as const, question: 'Which one?\n1. a\n2. b' };
    expect(questionParts(asked)).toEqual({ line: asked.question, below: null });
  });

  it('`pending` keeps one row per run and prints the detail below the table; the status line keeps one line', () => {
    const e = escalation(approvalQuestion({ ...held, approvalDetail: 'release 1.2 goes to prod\nbuilt from /ws' }));
    const lines = pendingTable({ pending: [{ runId: 'run-1', escalation: e }], unreadable: [] }).split('\n');
    expect(lines[1]).toBe(
      'run-1  esc-1       tool_approval  2026-01-02 00:00:00  Approve deploy target="prod" version="1.2"?',
    );
    expect(lines.slice(2, 6)).toEqual(['', 'run-1 esc-1:', '    release 1.2 goes to prod', '    built from /ws']);
    const memory = memoryWith({ openEscalation: e });
    const line = progressLine(buildProgress(memory, 'awaiting_human'));
    expect(line).not.toContain('\n');
    expect(line).toContain('awaiting a person: tool_approval esc-1 — Approve deploy target="prod" version="1.2"?');
  });
});
