import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { applyStateUpdate, initialState, StateUpdate, stateUpdateSchema, summarizeState } from '../common/state.js';
import { stateTools } from '../common/state-tools.js';
import { toToolSchema } from '../tools/define.js';

describe('structured state', () => {
  it('applies additive updates and does not repeat done items or identical findings', () => {
    const finding = { item: 'a.txt', severity: 'high' as const, detail: 'secret in code' };
    let s = applyStateUpdate(initialState(), { mark_done: ['a.txt'], add_findings: [finding] });
    s = applyStateUpdate(s, {
      mark_done: ['a.txt', 'b.txt'],
      add_findings: [finding],
      add_decisions: ['skip vendored'],
    });
    expect(s).toEqual({ itemsDone: ['a.txt', 'b.txt'], findings: [finding], decisions: ['skip vendored'], errors: [] });
  });

  it('refuses malformed updates with a message that names the field', () => {
    const bad = StateUpdate.safeParse({ mark_done: 'a.txt' });
    expect(bad.success).toBe(false);
    expect(bad.error!.issues[0]!.path).toEqual(['mark_done']);
    expect(StateUpdate.safeParse({}).success).toBe(false);
    expect(StateUpdate.safeParse({ add_findings: [{ item: 'x', severity: 'catastrophic', detail: '' }] }).success).toBe(
      false,
    );
    expect(StateUpdate.safeParse({ unknown_op: [] }).success).toBe(false);
  });

  it('derives the tool JSON Schema from zod', () => {
    const schema = toToolSchema(stateTools.update_state);
    expect(schema.input_schema.type).toBe('object');
    expect(Object.keys(schema.input_schema.properties as object)).toEqual([
      'mark_done',
      'add_findings',
      'add_decisions',
      'add_errors',
    ]);
    expect(schema.input_schema).not.toHaveProperty('$schema');
  });

  describe("an agent's own lists", () => {
    const update = stateUpdateSchema({ blockers: z.object({ file: z.string(), reason: z.string().min(1) }).strict() });

    it('checks add_<list> items against the schema and gathers them under lists', () => {
      const ok = update.safeParse({ mark_done: ['a.ts'], add_blockers: [{ file: 'a.ts', reason: 'needs a licence' }] });
      expect(ok.data).toEqual({
        mark_done: ['a.ts'],
        lists: { blockers: [{ file: 'a.ts', reason: 'needs a licence' }] },
      });
      const bad = update.safeParse({ add_blockers: [{ file: 'a.ts' }] });
      expect(bad.error!.issues[0]!.path).toEqual(['add_blockers', 0, 'reason']);
      expect(update.safeParse({ add_blockers: [] }).error!.issues[0]!.message).toBe(
        'update_state needs at least one non-empty field: mark_done, add_findings, add_decisions, add_errors, add_blockers',
      );
      expect(update.safeParse({ add_others: [1] }).success).toBe(false);
    });

    it('appends without repeating identical items, and leaves a state without lists as it was', () => {
      const blocker = { file: 'a.ts', reason: 'needs a licence' };
      let s = applyStateUpdate(initialState(), { lists: { blockers: [blocker] } });
      s = applyStateUpdate(s, {
        mark_done: ['a.ts'],
        lists: { blockers: [blocker, { file: 'b.ts', reason: 'binary' }] },
      });
      expect(s.lists).toEqual({ blockers: [blocker, { file: 'b.ts', reason: 'binary' }] });
      expect(summarizeState(s)).toBe('1 items done, 0 findings, 2 blockers');
      expect(applyStateUpdate(initialState(), { mark_done: ['x'] })).not.toHaveProperty('lists');
    });

    it("offers the lists in update_state's JSON Schema", () => {
      const schema = toToolSchema({ name: 'update_state', description: 'd', input: update });
      const properties = schema.input_schema.properties as Record<string, { items: unknown }>;
      expect(Object.keys(properties)).toContain('add_blockers');
      expect(properties.add_blockers!.items).toMatchObject({ required: ['file', 'reason'] });
    });
  });
});
