import { describe, expect, it } from 'vitest';
import { callDisplay, TARGET_FIELDS } from '../../common/call-display.js';
import type { PendingBlock, ToolCall } from '../../common/contracts.js';
import { closedEscalation, type Escalation } from '../../common/escalation.js';
import { FAILURE_CHARS, MAX_CALLS_PER_REPLY, MAX_INLINE_INPUTS_BYTES, utf8Bytes } from '../../common/input-bounds.js';
import { MAX_TASK_CHARS } from '../../common/options.js';
import { STATE_LIMITS } from '../../common/state.js';
import { INLINE_RESULT_CHARS } from '../../activities/index.js';
import { withIgnoredResponse } from '../../workflows/handlers.js';
import { HISTORY_LIMIT, memoryForNextRun } from '../../workflows/memory.js';
import { memoryWith, optionsWith } from './fixtures.js';

/** The shipped server limit (deploy/temporal-dynamic-config.yaml: limit.blobSize.error). */
const BLOB_LIMIT = 1024 * 1024;

describe('the continue-as-new input at every bound at once', () => {
  it('stays under the shipped blob limit, with the largest task and system prompt', () => {
    const long = 'x'.repeat(10_000);
    // The widest display line: every target field long, and many other fields.
    const wide = Object.fromEntries([
      ...TARGET_FIELDS.map((f) => [f, long]),
      ...Array.from({ length: 50 }, (_, i) => [`k${i}`, long]),
    ]);
    const display = callDisplay('some_tool', wide);
    const inlineEach = Math.floor(MAX_INLINE_INPUTS_BYTES / MAX_CALLS_PER_REPLY);
    const pendingCalls: ToolCall[] = Array.from({ length: MAX_CALLS_PER_REPLY }, (_, i) => ({
      id: `toolu_${'0'.repeat(24)}${i}`,
      name: 'some_tool',
      input: { data: 'i'.repeat(inlineEach - 12) },
      display,
    }));
    const results: PendingBlock[] = pendingCalls.map((c) => ({
      type: 'tool_result',
      tool_use_id: c.id,
      content: 'r'.repeat(INLINE_RESULT_CHARS),
      is_error: true,
    }));
    const question = `Approve ${display}?`;
    const open: Escalation = {
      id: 'esc-1000',
      kind: 'tool_approval',
      reason: 'the model wants to run some_tool',
      question,
      heldToolCall: pendingCalls[0]!,
      openedAt: new Date().toISOString(),
      deadline: new Date().toISOString(),
    };
    const closed = closedEscalation(
      { ...open, kind: 'model_request', reason: long.slice(0, 2_000), question: long.slice(0, 4_000) },
      { decision: 'reply', message: long.repeat(2), by: 'x'.repeat(200), at: new Date().toISOString() },
    );
    // A state at its total bound, and as many updates again since the last model call.
    const decisions = Array.from(
      { length: Math.floor(STATE_LIMITS.totalBytes / 2_010) },
      (_, i) => `${i} ${'d'.repeat(2_000)}`,
    );
    let memory = memoryWith({
      state: { itemsDone: [], findings: [], decisions, errors: [] },
      stateUpdates: [{ add_decisions: decisions.slice(0, Math.floor(MAX_INLINE_INPUTS_BYTES / 2_010)) }],
      toolCallsToRun: pendingCalls,
      toolResults: results,
      openEscalation: open,
      escalations: Array.from({ length: HISTORY_LIMIT }, () => closed),
      report: 'r'.repeat(MAX_INLINE_INPUTS_BYTES),
      lastFailure: 'f'.repeat(FAILURE_CHARS),
      lastText: 't'.repeat(500),
    });
    for (let i = 0; i < HISTORY_LIMIT; i++) memory = withIgnoredResponse(memory, long, new Date().toISOString());
    const options = optionsWith({ task: 't'.repeat(MAX_TASK_CHARS), systemPrompt: 's'.repeat(MAX_TASK_CHARS) });
    const input = JSON.stringify({ options, memory: memoryForNextRun(memory) });
    const bytes = utf8Bytes(input);
    console.log(`continue-as-new input at every bound: ${bytes} bytes (display line ${display.length} chars)`);
    expect(bytes).toBeLessThan(BLOB_LIMIT);
  });
});
