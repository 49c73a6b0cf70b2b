import { describe, expect, it } from 'vitest';
import { applyStateUpdate, initialState, StateUpdate } from '../workflows/state.js';
import { stateTools } from '../workflows/state-tools.js';
import { toToolSchema } from '../tools/define.js';

describe('structured state', () => {
  it('applies additive updates and does not repeat done items or identical findings', () => {
    const finding = { item: 'a.txt', severity: 'high' as const, detail: 'secret in code' };
    let s = applyStateUpdate(initialState(), { mark_done: ['a.txt'], add_findings: [finding] });
    s = applyStateUpdate(s, { mark_done: ['a.txt', 'b.txt'], add_findings: [finding], add_decisions: ['skip vendored'] });
    expect(s).toEqual({ itemsDone: ['a.txt', 'b.txt'], findings: [finding], decisions: ['skip vendored'], errors: [] });
  });

  it('refuses malformed updates with a message that names the field', () => {
    const bad = StateUpdate.safeParse({ mark_done: 'a.txt' });
    expect(bad.success).toBe(false);
    expect(bad.error!.issues[0]!.path).toEqual(['mark_done']);
    expect(StateUpdate.safeParse({}).success).toBe(false);
    expect(StateUpdate.safeParse({ add_findings: [{ item: 'x', severity: 'catastrophic', detail: '' }] }).success).toBe(false);
    expect(StateUpdate.safeParse({ unknown_op: [] }).success).toBe(false);
  });

  it('derives the tool JSON Schema from zod', () => {
    const schema = toToolSchema(stateTools.update_state);
    expect(schema.input_schema.type).toBe('object');
    expect(Object.keys(schema.input_schema.properties as object)).toEqual(['mark_done', 'add_findings', 'add_decisions', 'add_errors']);
    expect(schema.input_schema).not.toHaveProperty('$schema');
  });
});
