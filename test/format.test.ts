import { describe, expect, it } from 'vitest';
import { costText, progressBar, progressLine, resultText, shortCount } from '../client/format.js';
import { initialCounters, type Counters } from '../common/counters.js';
import { progress } from './helpers/progress.js';
import { initialState } from '../common/state.js';

describe('progressBar', () => {
  it('draws turns against the cap, tokens, compactions and the status', () => {
    const p = progress({}, { turn: 42, inputTokens: 1_150_000, outputTokens: 50_000, compactions: 3 });
    expect(progressBar(p, 'run-1', { barWidth: 10 })).toBe(
      'turn 42/500 [░░░░░░░░░░] 8% · 1.2M tokens · $0.0000 · 3 compactions · running',
    );
    const half = progress({ status: 'completed', maxTurns: 40 }, { turn: 20, inputTokens: 999, compactions: 1 });
    expect(progressBar(half, 'run-1', { barWidth: 10 })).toBe(
      'turn 20/40 [█████░░░░░] 50% · 999 tokens · $0.0000 · 1 compaction · completed',
    );
  });

  it('counts compaction tokens, and the bar stays full past the cap', () => {
    const p = progress({ maxTurns: 10 }, { turn: 12, compactionInputTokens: 12_340 });
    expect(progressBar(p, 'r', { barWidth: 4 })).toBe(
      'turn 12/10 [████] 100% · 12.3K tokens · $0.0000 · 0 compactions · running',
    );
  });

  it('names who the run waits for and the command that answers', () => {
    const escalation = { id: 'esc-2', reason: 'r', question: 'Approve write_file?', openedAt: '', deadline: '' };
    const approval = progress(
      { status: 'awaiting_human', escalation: { ...escalation, kind: 'tool_approval' } },
      { turn: 7 },
    );
    expect(progressBar(approval, 'run-9', { barWidth: 5 })).toBe(
      'turn 7/500 [░░░░░] 1% · 0 tokens · $0.0000 · 0 compactions · waiting: tool_approval esc-2 (longhaul approve run-9)',
    );
    const cap = progress({ status: 'awaiting_human', escalation: { ...escalation, id: 'esc-5', kind: 'turn_cap' } });
    expect(progressBar(cap, 'run-9')).toMatch(/· waiting: turn_cap esc-5 \(longhaul extend run-9 --turns N\)$/);
  });

  it('fits the terminal, so the line never wraps: the bar narrows, then goes, then the end is cut', () => {
    const p = progress({}, { turn: 250 });
    const full = `turn 250/500 [${'█'.repeat(10)}${'░'.repeat(10)}] 50% · 0 tokens · $0.0000 · 0 compactions · running`;
    expect(progressBar(p, 'run-1', { columns: 200 })).toBe(full);
    expect(progressBar(p, 'run-1', { columns: full.length + 1 })).toBe(full);
    expect(progressBar(p, 'run-1', { columns: full.length })).toBe(
      `turn 250/500 [${'█'.repeat(9)}${'░'.repeat(10)}] 50% · 0 tokens · $0.0000 · 0 compactions · running`,
    );
    const bare = 'turn 250/500 50% · 0 tokens · $0.0000 · 0 compactions · running';
    expect(progressBar(p, 'run-1', { columns: bare.length + 9 })).toBe(
      `turn 250/500 [██░░░] 50% · 0 tokens · $0.0000 · 0 compactions · running`,
    );
    expect(progressBar(p, 'run-1', { columns: bare.length + 5 })).toBe(bare);
    expect(progressBar(p, 'run-1', { columns: 30 })).toBe(`${bare.slice(0, 28)}…`);
  });
});

describe('cost on the progress line, bar and result', () => {
  const spent = {
    modelCalls: 4,
    costNanos: 1_234_500_000,
    inputTokens: 1_000,
    cacheWriteTokens: 1_000,
    cacheReadTokens: 8_000,
  };

  it('shows dollars against the budget and the share of input read from the cache', () => {
    const line = progressLine(progress({ budgetUsd: 5 }, spent));
    expect(line).toContain('cost $1.23 of $5.00, cache reads 80% of input');
    expect(progressBar(progress({}, spent), 'r', { barWidth: 0 })).toContain(' · $1.23 · ');
  });

  it('says what is unknown: some calls unpriced, or no price at all', () => {
    expect(costText({ ...initialCounters(), ...spent, unpricedCalls: 1 })).toBe('cost $1.23 + 1 call unpriced');
    const none = { ...initialCounters(), modelCalls: 3, unpricedCalls: 3 };
    expect(costText(none)).toBe('cost unknown (no price for the model)');
    expect(progressBar(progress({}, none), 'r', { barWidth: 0 })).toContain(' · cost unknown · ');
  });

  it('shows a result recorded before costs were counted, as 0 and without NaN', () => {
    const {
      cacheReadTokens: _r,
      cacheWriteTokens: _w,
      cacheWrite1hTokens: _h,
      costNanos: _c,
      unpricedCalls: _u,
      ...old
    } = initialCounters();
    const text = resultText({
      status: 'completed',
      counters: { ...old, modelCalls: 2 } as Counters,
      compactions: [],
      escalations: [],
      state: initialState(),
      chain: { runNumber: 1, turnsAtStart: 0, compactionsAtStart: 0 },
    });
    expect(text).toContain('cache: written 0 (0 for 1h)   read 0 (0%');
    expect(text).not.toContain('NaN');
  });
});

describe('shortCount', () => {
  it.each([
    [0, '0'],
    [999, '999'],
    [1_000, '1K'],
    [12_345, '12.3K'],
    [850_000, '850K'],
    [999_949, '999.9K'],
    [999_950, '1M'],
    [1_234_567, '1.2M'],
    [25_000_000, '25M'],
  ])('%d → %s', (n, text) => expect(shortCount(n)).toBe(text));
});
