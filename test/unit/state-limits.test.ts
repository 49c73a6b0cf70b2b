import { describe, expect, it } from 'vitest';
import { applyStateUpdate, initialState, STATE_LIMITS, stateLimitError } from '../../common/state.js';

describe('state limits', () => {
  it('a state within the limits passes', () => {
    expect(stateLimitError(applyStateUpdate(initialState(), { add_decisions: ['d'.repeat(2_000)] }))).toBeNull();
  });

  it('too many items in a list is refused, naming the list and the limit', () => {
    const state = {
      ...initialState(),
      itemsDone: Array.from({ length: STATE_LIMITS.itemsPerList + 1 }, (_, i) => `f${i}`),
    };
    expect(stateLimitError(state)).toMatch(/^itemsDone would hold 2001 items; the limit is 2000 a list/);
  });

  it("an item too long is refused, in an agent's own list too", () => {
    const state = { ...initialState(), lists: { blockers: [{ why: 'w'.repeat(STATE_LIMITS.itemChars) }] } };
    expect(stateLimitError(state)).toMatch(/^an item of blockers is longer than 4000 characters/);
  });

  it('a state too large in all is refused with its size and what to do', () => {
    let state = initialState();
    for (let i = 0; i < 70; i++) state = applyStateUpdate(state, { add_decisions: [`${i} ${'d'.repeat(1_990)}`] });
    expect(stateLimitError(state)).toMatch(
      /^the state would be \d+ bytes as JSON; the limit is 131072\. Keep in the state only what must survive compaction/,
    );
  });
});
