import { z } from 'zod';
import { utf8Bytes } from './input-bounds.js';

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
    /** The agent's own lists (`defineAgent({ state })`), by name; absent for agents without any. */
    lists: z.record(z.string(), z.array(z.unknown())).optional(),
  })
  .strict();
export type AgentState = z.infer<typeof AgentState>;

export const initialState = (): AgentState => ({ itemsDone: [], findings: [], decisions: [], errors: [] });

/** The built-in operations of update_state; an agent's lists add `add_<list>` beside them. */
export const BASE_UPDATE_FIELDS = {
  mark_done: z.array(z.string().min(1)).max(500).optional(),
  add_findings: z.array(Finding).max(100).optional(),
  add_decisions: z.array(z.string().min(1).max(2_000)).max(50).optional(),
  add_errors: z.array(z.string().min(1).max(2_000)).max(50).optional(),
};
const hasSomeUpdate = (u: Record<string, unknown[] | undefined>) =>
  Object.values(u).some((v) => v !== undefined && v.length > 0);

/** Input of the `update_state` tool: additive operations, so a repeated call cannot undo work. */
export const StateUpdate = z.object(BASE_UPDATE_FIELDS).strict().refine(hasSomeUpdate, {
  message: 'update_state needs at least one non-empty field: mark_done, add_findings, add_decisions or add_errors',
});
export type StateUpdate = z.infer<typeof StateUpdate> & {
  /** Items for the agent's own lists, already checked against their schemas by the model activity. */
  lists?: Record<string, unknown[]>;
};

/** An agent's own lists: a name and the zod schema of one item, e.g. `{ blockers: z.object({...}) }`. */
export type StateLists = Record<string, z.ZodType>;
export const STATE_LIST_NAME = /^[a-z][a-z0-9_]{0,39}$/;

/** update_state's input for an agent with its own lists: the base fields plus `add_<list>` for each. */
export function stateUpdateSchema(lists: StateLists) {
  const names = Object.keys(lists);
  const extra = Object.fromEntries(names.map((name) => [`add_${name}`, z.array(lists[name]!).max(100).optional()]));
  const fields = [...Object.keys(BASE_UPDATE_FIELDS), ...Object.keys(extra)];
  return z
    .object({ ...BASE_UPDATE_FIELDS, ...extra })
    .strict()
    .refine(hasSomeUpdate, { message: `update_state needs at least one non-empty field: ${fields.join(', ')}` })
    .transform((input): StateUpdate => {
      // Base fields stay as they are; `add_<list>` items go under `lists.<list>`.
      const base: Record<string, unknown[]> = {};
      const added: Record<string, unknown[]> = {};
      for (const [key, value] of Object.entries(input as Record<string, unknown[] | undefined>)) {
        if (value === undefined) continue;
        if (Object.hasOwn(BASE_UPDATE_FIELDS, key)) base[key] = value;
        else if (value.length) added[key.slice('add_'.length)] = value;
      }
      return { ...base, ...(Object.keys(added).length ? { lists: added } : {}) };
    });
}

/** Identical items are not repeated: a retried or repeated call adds nothing new. */
function appendNew<T>(list: readonly T[], items: readonly T[]): T[] {
  const seen = new Set(list.map((x) => JSON.stringify(x)));
  return [
    ...list,
    ...items.filter((x) => {
      const key = JSON.stringify(x);
      return !seen.has(key) && seen.add(key);
    }),
  ];
}

/** Pure reducer: applies an update; items already done and identical findings or list items are not repeated. */
export function applyStateUpdate(state: AgentState, update: StateUpdate): AgentState {
  const next: AgentState = {
    itemsDone: appendNew(state.itemsDone, update.mark_done ?? []),
    findings: appendNew(state.findings, update.add_findings ?? []),
    decisions: [...state.decisions, ...(update.add_decisions ?? [])],
    errors: [...state.errors, ...(update.add_errors ?? [])],
  };
  if (!state.lists && !update.lists) return next;
  const lists = { ...state.lists };
  for (const [name, items] of Object.entries(update.lists ?? {})) lists[name] = appendNew(lists[name] ?? [], items);
  return { ...next, lists };
}

/**
 * Bounds on the state. It travels whole in every continue-as-new input (with the rest of the
 * memory, under the server's blob limit: deploy/temporal-dynamic-config.yaml) and is shown to the
 * model on every call, so 128 KiB (about 32K tokens a call) is already a large state.
 */
export const STATE_LIMITS = {
  /** Items in any one list (items done, findings, decisions, errors, each of an agent's own lists). */
  itemsPerList: 2_000,
  /** Characters of one item as JSON (a string item, or a finding or list item). */
  itemChars: 4_000,
  /** UTF-8 bytes of the whole state as JSON. */
  totalBytes: 128 * 1024,
};

/**
 * Why a state passes a limit, as the model is told it, or null when it is within them all.
 * Checked on the state an update would make: an update that passes a limit is refused whole.
 */
export function stateLimitError(state: AgentState): string | null {
  const lists: [string, unknown[]][] = [
    ['itemsDone', state.itemsDone],
    ['findings', state.findings],
    ['decisions', state.decisions],
    ['errors', state.errors],
    ...Object.entries(state.lists ?? {}),
  ];
  const { itemsPerList, itemChars, totalBytes } = STATE_LIMITS;
  for (const [name, items] of lists) {
    if (items.length > itemsPerList)
      return `${name} would hold ${items.length} items; the limit is ${itemsPerList} a list. Record fewer: group related items into one`;
    const long = items.findIndex((item) => (JSON.stringify(item) ?? '').length > itemChars);
    if (long >= 0)
      return `an item of ${name} is longer than ${itemChars} characters, the limit a state item; shorten it to its conclusion`;
  }
  const bytes = utf8Bytes(JSON.stringify(state));
  if (bytes > totalBytes)
    return (
      `the state would be ${bytes} bytes as JSON; the limit is ${totalBytes}. Keep in the state only what must ` +
      'survive compaction: short conclusions, not raw data or long text'
    );
  return null;
}

export function summarizeState(state: AgentState): string {
  const lists = Object.entries(state.lists ?? {}).map(([name, items]) => `, ${items.length} ${name}`);
  return `${state.itemsDone.length} items done, ${state.findings.length} findings${lists.join('')}`;
}
