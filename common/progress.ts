import type { BlobRef } from './contracts.js';
import { withCounterDefaults } from './counters.js';
import { totalsOf, type ChildRecord } from './delegation.js';
import type { Escalation } from './escalation.js';
import type { Progress, RunStatus } from './messages.js';

/**
 * What a run's progress is built from: a running run's memory (which has every field), or a
 * closed run's result (where nothing is open or waiting any more). One builder for both, so the
 * `progress` query and `longhaul export` cannot drift apart.
 */
export interface ProgressSource {
  counters: Progress['counters'];
  maxTurns: number;
  tokenBudget?: number | undefined;
  budgetNanos?: number | undefined;
  compactions: Progress['compactions'];
  escalations: Progress['escalations'];
  chain: Progress['chain'];
  report?: string | undefined;
  head?: BlobRef | null | undefined;
  instructionsRef?: BlobRef | null | undefined;
  openEscalation?: Escalation | null;
  ignoredResponses?: Progress['ignoredResponses'];
  lastText?: string;
  children?: ChildRecord[] | undefined;
}

export function buildProgress(source: ProgressSource, status: RunStatus, reason?: string): Progress {
  return {
    status,
    // A closed run from before a counter existed shows it as 0.
    counters: withCounterDefaults(source.counters),
    maxTurns: source.maxTurns,
    ...(source.tokenBudget !== undefined ? { tokenBudget: source.tokenBudget } : {}),
    ...(source.budgetNanos !== undefined ? { budgetUsd: source.budgetNanos / 1e9 } : {}),
    compactions: source.compactions,
    escalation: source.openEscalation ?? null,
    escalations: source.escalations,
    ignoredResponses: source.ignoredResponses ?? [],
    chain: source.chain,
    lastText: source.lastText ?? '',
    ...(reason ? { reason } : {}),
    ...(source.report !== undefined ? { report: source.report } : {}),
    head: source.head ?? null,
    instructionsRef: source.instructionsRef ?? null,
    ...childrenAndTotals(source),
  };
}

/** A run's children and its totals with theirs; nothing for a run that started none (recorded runs show as they did). */
export function childrenAndTotals(
  source: Pick<ProgressSource, 'counters' | 'children'>,
): Pick<Progress, 'children' | 'totals'> {
  const { children } = source;
  if (!children?.length) return {};
  return { children, totals: totalsOf(withCounterDefaults(source.counters), children) };
}
