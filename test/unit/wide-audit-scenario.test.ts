import type { BetaContentBlockParam, BetaMessageParam } from '@anthropic-ai/sdk/resources/beta/messages/messages';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runToolCall } from '../../activities/run-tool.js';
import { DELEGATE_TOOL, delegateTool } from '../../common/delegation.js';
import { DEFAULT_MODEL } from '../../common/models.js';
import { renderSystemPrompt } from '../../common/prompt-format.js';
import { applyStateUpdate, initialState, StateUpdate, type AgentState } from '../../common/state.js';
import { auditGroundTruth, auditItemName, auditReport, writeAuditWorkspace } from '../../simulator/scenarios/audit.js';
import {
  parseAuditReport,
  rangedAuditTask,
  rangeNotesDir,
  splitRanges,
  wideAuditTask,
} from '../../simulator/scenarios/wide-audit.js';
import { DirectoryStore } from '../../store/directory-store.js';
import { toToolSchema } from '../../tools/define.js';
import { assembleToolset } from '../../tools/toolset.js';
import { workspaceTools } from '../../tools/workspace-tools.js';
import { useSdkSimulator } from '../helpers/sdk-simulator.js';

/**
 * The wide audit scenario through the real SDK and the real workspace tools, run by a minimal
 * loop (no Temporal): a delegate call is answered by running its task in the same loop, as a
 * child run would, or by an error a test chooses.
 */
const t = useSdkSimulator();

const toolset = assembleToolset('test', workspaceTools);
const withDelegate = [...toolset.schemas, toToolSchema(delegateTool)];

interface Call {
  name: string;
  input: Record<string, unknown>;
}
interface AgentRun {
  report: string;
  state: AgentState;
  /** The tool calls of each reply, in order. */
  replies: Call[][];
}
/** Answers a delegate call: its result text, or an error. */
type Delegate = (input: Record<string, unknown>, seq: number) => Promise<{ content: string; isError?: boolean }>;

async function workspaceWith(n: number): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sim-wide-'));
  t.scratch.push(dir);
  await writeAuditWorkspace(dir, n);
  return dir;
}

async function runAgent(
  task: string,
  workspace: string,
  opts: { delegate?: Delegate; offerDelegate?: boolean } = {},
): Promise<AgentRun> {
  const { delegate, offerDelegate = delegate !== undefined } = opts;
  const store = new DirectoryStore(await mkdtemp(join(tmpdir(), 'sim-wide-store-')));
  let state = initialState();
  const replies: Call[][] = [];
  const messages: BetaMessageParam[] = [{ role: 'user', content: 'Start the task.' }];
  let delegated = 0;

  for (let turn = 1; turn <= 500; turn++) {
    const response = await t.client.beta.messages.create({
      model: DEFAULT_MODEL,
      max_tokens: 4096,
      system: renderSystemPrompt('You are a careful agent.', task, state),
      tools: offerDelegate ? withDelegate : toolset.schemas,
      messages,
    });
    messages.push({ role: 'assistant', content: response.content as BetaContentBlockParam[] });
    const uses = response.content.flatMap((b) => (b.type === 'tool_use' ? [b] : []));
    replies.push(uses.map((b) => ({ name: b.name, input: b.input as Record<string, unknown> })));
    // As a client would: the calls of a reply at once, results in the order of the calls.
    const results = await Promise.all(
      uses.map(async (block, position): Promise<BetaContentBlockParam | { report: string }> => {
        const input = block.input as Record<string, unknown>;
        let output: { content: string; isError?: boolean };
        if (block.name === 'finish') return { report: input.report as string };
        if (block.name === 'update_state') {
          state = applyStateUpdate(state, StateUpdate.parse(input));
          output = { content: 'state updated' };
        } else if (block.name === DELEGATE_TOOL) {
          output = await delegate!(input, ++delegated);
        } else {
          output = await runToolCall(toolset.registry, store, {
            workflowId: 'wide-unit',
            chainId: 'chain',
            turn,
            position,
            workspace,
            call: { id: block.id, name: block.name, input },
          });
        }
        return { type: 'tool_result', tool_use_id: block.id, content: output.content, is_error: !!output.isError };
      }),
    );
    const finished = results.find((r): r is { report: string } => 'report' in r);
    if (finished) return { report: finished.report, state, replies };
    messages.push({ role: 'user', content: results as BetaContentBlockParam[] });
  }
  throw new Error('the run did not finish');
}

/** Runs each delegated task as a child in the same workspace; the result wraps its report, as a client may. */
const childrenIn =
  (workspace: string, children: AgentRun[]): Delegate =>
  async (input) => {
    const child = await runAgent(input.task as string, workspace);
    children.push(child);
    return { content: `Sub-agent ${String(input.agent)} completed. Its report:\n${child.report}` };
  };

const inRange = (from: number, to: number) => (f: { item: string }) => {
  const index = Number(/(\d+)/.exec(f.item)?.[1]);
  return index >= from && index <= to;
};

describe('report parsing and splitting', () => {
  it('reads back the findings of an audit report, wrapped or not, and refuses one whose counts do not add up', () => {
    const truth = auditGroundTruth(300);
    const report = auditReport(300, truth);
    const parsed = parseAuditReport(`The child says:\n${report}\nDone.`);
    expect(parsed?.audited).toBe(300);
    expect(auditReport(300, parsed!.findings)).toBe(report);
    expect(parseAuditReport(report.replace(/^no risk: \d+ files$/m, 'no risk: 1 files'))).toBeNull();
    expect(parseAuditReport(report.replace(/^(high \(\d+\): [^,]+), /m, '$1; '))).toBeNull();
    expect(parseAuditReport('I could not finish the audit.')).toBeNull();
  });

  it('splits n files into m contiguous ranges that cover them once, with notes directories of their own', () => {
    for (const [n, m] of [
      [2000, 8],
      [7, 3],
      [3, 8],
    ] as const) {
      const ranges = splitRanges(n, m);
      expect(ranges).toHaveLength(Math.min(n, m));
      expect(ranges[0]!.from).toBe(1);
      expect(ranges.at(-1)!.to).toBe(n);
      ranges.slice(1).forEach((r, g) => expect(r.from).toBe(ranges[g]!.to + 1));
      const sizes = ranges.map((r) => r.to - r.from + 1);
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
      expect(new Set(ranges.map((r) => rangeNotesDir({ n, ...r }))).size).toBe(ranges.length);
    }
    expect(rangeNotesDir({ n: 2000, from: 251, to: 500 })).toBe('notes/items-0251-0500');
  });

  it('merges the ranged reports of 2,000 files into the one-agent report', () => {
    const n = 2000;
    const truth = auditGroundTruth(n);
    const merged = splitRanges(n, 8).flatMap(({ from, to }) => {
      const report = auditReport(to - from + 1, truth.filter(inRange(from, to)));
      return parseAuditReport(report)!.findings;
    });
    expect(auditReport(n, merged)).toBe(auditReport(n, truth));
  });
});

describe('the ranged, batched audit', () => {
  it('over the whole workspace: K reads a reply, notes under its range, the long audit report in report.md', async () => {
    const n = 200;
    const workspace = await workspaceWith(n);
    const run = await runAgent(
      rangedAuditTask({ n, from: 1, to: n, perReply: 10, reportFile: 'report.md' }),
      workspace,
    );
    expect(run.report).toBe(auditReport(n, auditGroundTruth(n)));
    expect(await readFile(join(workspace, 'report.md'), 'utf8')).toBe(run.report);
    // n/K replies that read, then one that records the last reads and finishes.
    expect(run.replies).toHaveLength(n / 10 + 1);
    const reads = run.replies.map((calls) => calls.filter((c) => c.name === 'read_file').length);
    expect(reads.slice(0, -1).every((k) => k === 10)).toBe(true);
    expect(run.replies.at(-1)!.map((c) => c.name)).toEqual(['update_state', 'write_file', 'write_file', 'finish']);
    expect(run.state.itemsDone).toHaveLength(n);
    expect((await readdir(join(workspace, 'notes/items-001-200'))).sort()).toEqual(
      ['progress-100.md', 'progress-150.md', 'progress-200.md', 'progress-50.md'].sort(),
    );
  });

  it('over a range: reads only its files, reports over them, writes no report file', async () => {
    const n = 200;
    const workspace = await workspaceWith(n);
    const run = await runAgent(rangedAuditTask({ n, from: 51, to: 123, perReply: 7 }), workspace);
    expect(run.report).toBe(auditReport(73, auditGroundTruth(n).filter(inRange(51, 123))));
    const read = run.replies.flat().filter((c) => c.name === 'read_file');
    expect(read.map((c) => c.input.path)).toEqual(Array.from({ length: 73 }, (_, k) => auditItemName(51 + k, n)));
    expect(run.replies.every((calls) => calls.filter((c) => c.name === 'read_file').length <= 7)).toBe(true);
    expect(
      run.replies
        .flat()
        .filter((c) => c.name === 'write_file')
        .map((c) => c.input.path),
    ).toEqual(['notes/items-051-123/progress-50.md']);
    await expect(readFile(join(workspace, 'report.md'), 'utf8')).rejects.toThrow();
  });
});

describe('the parent', () => {
  const n = 400;
  const task = wideAuditTask({ n, children: 8, agent: 'auditor', perReply: 10 });

  it('lists, delegates 8 ranges in one reply, and merges the reports into the one-agent report', async () => {
    const workspace = await workspaceWith(n);
    const children: AgentRun[] = [];
    const run = await runAgent(task, workspace, { delegate: childrenIn(workspace, children) });
    expect(run.report).toBe(auditReport(n, auditGroundTruth(n)));
    expect(await readFile(join(workspace, 'report.md'), 'utf8')).toBe(run.report);
    expect(run.replies.map((calls) => calls.map((c) => c.name))).toEqual([
      ['list_files'],
      Array(8).fill(DELEGATE_TOOL),
      ['write_file', 'finish'],
    ]);
    const tasks = run.replies[1]!.map((c) => c.input);
    expect(tasks.every((input) => input.agent === 'auditor')).toBe(true);
    expect(tasks.map((input) => input.task)).toEqual(
      splitRanges(n, 8).map((r) => rangedAuditTask({ n, ...r, perReply: 10 })),
    );
    // Each child's notes in its own directory; no child wrote the report.
    const writes = children.flatMap((c) => c.replies.flat()).filter((c) => c.name === 'write_file');
    expect(writes.map((c) => c.input.path).sort()).toEqual(
      splitRanges(n, 8)
        .map((r) => `${rangeNotesDir({ n, ...r })}/progress-50.md`)
        .sort(),
    );
  });

  it('reports a child that failed, and merges nothing', async () => {
    const workspace = await workspaceWith(n);
    const children: AgentRun[] = [];
    const run = await runAgent(task, workspace, {
      delegate: (input, seq) =>
        seq === 3
          ? Promise.resolve({ content: 'the sub-agent stopped: it reached its turn cap (maxTurns 30)', isError: true })
          : childrenIn(workspace, children)(input, seq),
    });
    expect(run.report).toMatch(/^The audit is not complete: 1 of 8 sub-agents did not report\./);
    expect(run.report).toContain(
      'the sub-agent of item-101.txt to item-150.txt failed: the sub-agent stopped: it reached its turn cap (maxTurns 30)',
    );
    expect(run.report).not.toContain('Audit report');
    expect(run.state.errors).toHaveLength(1);
    await expect(readFile(join(workspace, 'report.md'), 'utf8')).rejects.toThrow();
  });

  it('reports a child whose result is no audit of its range', async () => {
    const workspace = await workspaceWith(n);
    const run = await runAgent(task, workspace, {
      delegate: (_input, seq) =>
        Promise.resolve({ content: seq === 5 ? auditReport(10, []) : 'I do not know how to do this task.' }),
    });
    expect(run.report).toContain('8 of 8 sub-agents did not report');
    expect(run.report).toContain('the sub-agent of item-201.txt to item-250.txt audited 10 files, not 50');
    expect(run.report).toContain('the sub-agent of item-001.txt to item-050.txt sent no audit report');
  });

  it('says so when no delegate tool is offered', async () => {
    const workspace = await workspaceWith(n);
    const run = await runAgent(task, workspace, { offerDelegate: false });
    expect(run.report).toMatch(/^I cannot split this audit: no delegate tool is offered/);
    expect(run.replies).toHaveLength(1);
  });
});
