import type { PendingBlock, ToolCall } from '../common/contracts.js';
import { DELEGATE_TOOL } from '../common/delegation.js';
import type { Escalation } from '../common/escalation.js';
import { toolPolicy, type RunOptions } from '../common/options.js';
import { isStateTool } from '../common/state-tools.js';

/**
 * Which calls of a reply run together (under the parallel-tool-calls patch): pure, from the calls
 * and the options, so the plan is the same on replay and in a continued run.
 */

/** A call that waits for a person before it runs: its ceiling is 'approve' and its tool did not say it needs none. */
export const isHeld = (call: ToolCall, options: RunOptions): boolean =>
  call.inputError === undefined &&
  !isStateTool(call.name) &&
  toolPolicy(options, call.name) === 'approve' &&
  call.needsApproval !== false;

/**
 * A call that may run at the same time as its neighbours: it changes nothing, or its tool says
 * concurrent calls are safe, or it starts a sub-agent. Never a held call (a person decides it with
 * the results before it in place), a state tool (the workflow applies those in order) or a call
 * refused by the model call.
 */
export function isConcurrentSafe(call: ToolCall, options: RunOptions): boolean {
  if (call.inputError !== undefined || isStateTool(call.name) || isHeld(call, options)) return false;
  return (
    call.sideEffectFree === true ||
    call.concurrent === true ||
    (call.name === DELEGATE_TOOL && options.delegation !== undefined)
  );
}

/**
 * The next group of the calls still to run: the longest run of concurrent-safe calls at their
 * head, or else the head call alone. A side-effecting call thus runs alone, in the model's order,
 * and a read after a write sees the write.
 */
export function nextCallGroup(calls: readonly ToolCall[], options: RunOptions): ToolCall[] {
  const safe = calls.findIndex((call) => !isConcurrentSafe(call, options));
  if (safe === 0) return calls.slice(0, 1);
  return calls.slice(0, safe === -1 ? calls.length : safe);
}

/** Which of the reply's held calls the next one is: `index` of `total`, both counting from 1. */
export interface HeldPlace {
  index: number;
  total: number;
}

/**
 * The place of the held call at the head of `toCome` among its reply's held calls. Those that ran
 * already have a result (`results`) and were asked about in an escalation holding their call.
 */
export function heldPlace(
  toCome: readonly ToolCall[],
  results: readonly PendingBlock[],
  escalations: readonly Pick<Escalation, 'kind' | 'heldToolCall'>[],
  options: RunOptions,
): HeldPlace {
  const answered = new Set(results.flatMap((r) => (r.type === 'tool_result' ? [r.tool_use_id] : [])));
  const before = escalations.filter(
    (e) => e.kind === 'tool_approval' && e.heldToolCall !== undefined && answered.has(e.heldToolCall.id),
  ).length;
  return { index: before + 1, total: before + toCome.filter((call) => isHeld(call, options)).length };
}
