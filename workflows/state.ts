import { z } from 'zod';

/** The explicit bookkeeping of a run: what a lossy compaction summary must never be trusted with. */
export const Finding = z
  .object({
    item: z.string().min(1),
    severity: z.enum(['low', 'medium', 'high', 'critical']),
    detail: z.string().max(2_000),
  })
  .strict();
export type Finding = z.infer<typeof Finding>;

export const AgentState = z
  .object({
    itemsDone: z.array(z.string()),
    findings: z.array(Finding),
    decisions: z.array(z.string()),
    errors: z.array(z.string()),
  })
  .strict();
export type AgentState = z.infer<typeof AgentState>;

export const initialState = (): AgentState => ({ itemsDone: [], findings: [], decisions: [], errors: [] });

/** Input of the `update_state` tool: additive operations, so a repeated call cannot undo work. */
export const StateUpdate = z
  .object({
    mark_done: z.array(z.string().min(1)).max(500).optional(),
    add_findings: z.array(Finding).max(100).optional(),
    add_decisions: z.array(z.string().min(1).max(2_000)).max(50).optional(),
    add_errors: z.array(z.string().min(1).max(2_000)).max(50).optional(),
  })
  .strict()
  .refine((u) => Object.values(u).some((v) => v !== undefined && v.length > 0), {
    message: 'update_state needs at least one non-empty field: mark_done, add_findings, add_decisions or add_errors',
  });
export type StateUpdate = z.infer<typeof StateUpdate>;

/** Pure reducer: applies an update; items already done and identical findings are not repeated. */
export function applyStateUpdate(state: AgentState, update: StateUpdate): AgentState {
  const done = new Set(state.itemsDone);
  const itemsDone = [...state.itemsDone, ...(update.mark_done ?? []).filter((i) => !done.has(i) && done.add(i))];
  const seen = new Set(state.findings.map((f) => JSON.stringify(f)));
  const findings = [
    ...state.findings,
    ...(update.add_findings ?? []).filter((f) => {
      const key = JSON.stringify(f);
      return !seen.has(key) && seen.add(key);
    }),
  ];
  return {
    itemsDone,
    findings,
    decisions: [...state.decisions, ...(update.add_decisions ?? [])],
    errors: [...state.errors, ...(update.add_errors ?? [])],
  };
}

export function summarizeState(state: AgentState): string {
  return `${state.itemsDone.length} items done, ${state.findings.length} findings`;
}
