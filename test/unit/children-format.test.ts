import { describe, expect, it } from 'vitest';
import { initialCounters, type Counters } from '../../common/counters.js';
import type { ChildRecord } from '../../common/delegation.js';
import { childEvents, childrenText, liveTotals, memoLine } from '../../client/format.js';
import { childrenSummary } from '../../workflows/visibility.js';

const counters = (turn: number, costNanos: number): Counters => ({
  ...initialCounters(),
  turn,
  modelCalls: turn,
  costNanos,
  toolCalls: turn,
});
const child = (n: number, status: ChildRecord['status'], c = initialCounters(), reason?: string): ChildRecord => ({
  workflowId: `p.sub-${n}`,
  toolUseId: `toolu_${n}`,
  agent: 'auditor',
  task: `part ${n}`,
  status,
  startedAt: '2026-12-02T00:00:00.000Z',
  counters: c,
  ...(reason ? { reason } : {}),
});

describe("a run's sub-agents as people see them", () => {
  it('the table shows each child, a running one with its live figures, and totals that add the live ones', () => {
    const children = [
      child(1, 'completed', counters(10, 2e8)),
      child(2, 'running'),
      child(3, 'failed', counters(1, 0), 'it was terminated'),
    ];
    const totals = counters(13, 3e8); // own 2 turns + the closed children's 11
    const live = { 'p.sub-2': { status: 'awaiting_human' as const, counters: counters(4, 5e7) } };
    const text = childrenText(children, totals, live);
    expect(text.split('\n')[0]).toBe('sub-agents: 3 (1 running)');
    expect(text).toMatch(/p\.sub-1 +auditor +completed +10 +\$0\.2000/);
    expect(text).toMatch(/p\.sub-2 +auditor +awaiting_human +4 +\$0\.0500/);
    expect(text).toMatch(/p\.sub-3 +auditor +failed +1 .*part 3 \(it was terminated\)/);
    expect(liveTotals(children, totals, live)).toMatchObject({ turn: 17, costNanos: 3.5e8 });
    expect(text.split('\n').at(-1)).toMatch(
      /^totals with 3 sub-agents: 17 turns · .* · cost \$0\.3500 · 17 tool calls$/,
    );
    // Without a live answer the running child shows its record, and the totals only the closed ones.
    expect(childrenText(children, totals)).toMatch(/p\.sub-2 +auditor +running +0 /);
    expect(childrenText(undefined, undefined)).toBe('');
  });

  it('follow prints a line when a child starts and one when it ends, once each', () => {
    const seen = new Map<string, string>();
    expect(childEvents(seen, [child(1, 'running')])).toEqual(['sub-agent p.sub-1 started (agent auditor): part 1']);
    expect(childEvents(seen, [child(1, 'running')])).toEqual([]);
    expect(
      childEvents(seen, [
        child(1, 'stopped', counters(3, 1e7), 'stopped by ann'),
        child(2, 'completed', counters(2, 0)),
      ]),
    ).toEqual([
      'sub-agent p.sub-1 stopped (stopped by ann): 3 turns, $0.0100',
      'sub-agent p.sub-2 started (agent auditor): part 2',
      'sub-agent p.sub-2 completed: 2 turns, $0.0000',
    ]);
  });

  it("the memo counts the children and the closed ones' turns and dollars; a child's names its parent", () => {
    const summary = childrenSummary([child(1, 'completed', counters(10, 2e8)), child(2, 'running')]);
    expect(summary).toEqual({ count: 2, running: 1, turns: 10, costUsd: 0.2 });
    expect(childrenSummary([child(1, 'running')])).toEqual({ count: 1, running: 1, turns: 0 });
    const memo = { status: 'running' as const, turn: 3, maxTurns: 10, tokensUsed: 5, compactions: 0, runInChain: 1 };
    expect(memoLine({ ...memo, children: summary })).toContain(
      'sub-agents 2 (1 running; closed ones 10 turns, $0.2000)',
    );
    expect(memoLine({ ...memo, parent: 'p' })).toContain('sub-agent of p');
  });
});
