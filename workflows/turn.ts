import type { ModelCallResult, RefusalDetails } from '../common/contracts.js';
import { nanosOfUsd } from '../common/cost.js';
import type { Outcome } from '../common/escalation.js';
import type { RunOptions } from '../common/options.js';
import { CUT_OFF, NUDGE, textBlock, toolResult, withText, WRAP_UP } from './blocks.js';
import type { RunMemory } from './memory.js';
import { capReached, type CapReached } from './next-step.js';
import type { RunEnd } from './run.js';

/** A turn's edges, as pure functions: the caps before it, and what its reply means once the model answered. */

export type TurnStart =
  /** The turn is counted; its model call follows. */
  | { kind: 'open'; memory: RunMemory }
  | { kind: 'end'; end: RunEnd }
  /** A cap is reached and its policy is to ask a person for more. */
  | { kind: 'ask-to-extend'; cap: CapReached };

export function startTurn(memory: RunMemory, options: RunOptions): TurnStart {
  const cap = capReached(memory);
  let next = memory;
  if (cap) {
    if (memory.wrappingUp)
      return { kind: 'end', end: { status: 'stopped', reason: `${cap.text}; the wrap-up turn ended without finish` } };
    if (options.escalation.onCap === 'stop') return { kind: 'end', end: { status: 'stopped', reason: cap.text } };
    if (options.escalation.onCap === 'escalate') return { kind: 'ask-to-extend', cap };
    next = { ...memory, wrappingUp: true, nextUserMessage: withText(memory.nextUserMessage, WRAP_UP) };
  }
  return {
    kind: 'open',
    memory: { ...next, counters: { ...next.counters, turn: next.counters.turn + 1 }, awaitingReply: true },
  };
}

/** The caps after a person's `extend`: the turns, tokens and dollars granted are added. */
export function extendCaps(memory: RunMemory, outcome: Outcome): RunMemory {
  const { budgetNanos } = memory;
  return {
    ...memory,
    maxTurns: memory.maxTurns + (outcome.turns ?? 0),
    tokenBudget: memory.tokenBudget !== undefined ? memory.tokenBudget + (outcome.tokens ?? 0) : undefined,
    // Only a run with a dollar budget has the field: a recorded run's memory stays as it was.
    ...(budgetNanos !== undefined ? { budgetNanos: budgetNanos + nanosOfUsd(outcome.usd ?? 0) } : {}),
  };
}

/** At most this many calls continue one turn after `compaction` or `pause_turn` stops. */
export const MAX_CONTINUATIONS = 4;

/** The stop reasons of a reply the loop acts on: its tool calls, or a nudge when there are none. */
const ANSWERED = new Set(['tool_use', 'end_turn', 'stop_sequence', 'max_tokens']);

export type ReplyEffect =
  | { memory: RunMemory; next: 'continue' }
  /** The model refused: a person is asked for guidance (runs before the patch answer the reply's calls as not run). */
  | { memory: RunMemory; next: 'ask-about-refusal' }
  | { memory: RunMemory; next: 'end'; end: RunEnd };

const REFUSED = 'the model refused to continue';

/** The escalation of a refusal: why, as the API's stop_details say, when they do. */
export function refusalEscalation(refusal: RefusalDetails | undefined): { reason: string; question: string } {
  const category = refusal?.category ? ` (category: ${refusal.category})` : '';
  const explanation = refusal?.explanation ? ` The API explains: ${refusal.explanation}` : '';
  return {
    reason: `${REFUSED}${category}`,
    question: `The refused turn was dropped from the transcript.${explanation} Reply with guidance for the model, or stop the run.`,
  };
}

/**
 * What a turn's final reply (after continuations) means for the run. `refusedTurnDropped`: the
 * patch of that name (run.ts), under which a refused reply is out of the transcript.
 */
export function applyReply(
  memory: RunMemory,
  reply: ModelCallResult,
  options: RunOptions,
  refusedTurnDropped = false,
): ReplyEffect {
  const answered = { ...memory, awaitingReply: false };
  const end = (status: RunEnd['status'], reason: string, at = answered): ReplyEffect => ({
    memory: at,
    next: 'end',
    end: { status, reason },
  });
  if (reply.stopReason === 'refusal') {
    const refused = refusedTurnDropped ? refusalEscalation(reply.refusal).reason : REFUSED;
    if (options.escalation.onRefusal === 'stop') return end('stopped', refused);
    // Runs before the patch kept the refused reply, so its calls needed answers; now it is out of the transcript.
    const toolResults = refusedTurnDropped
      ? []
      : reply.toolCalls.map((call) => toolResult(call, 'not run: the reply was a refusal', true));
    return { memory: { ...answered, toolResults }, next: 'ask-about-refusal' };
  }
  if (reply.stopReason === 'model_context_window_exceeded') {
    return end('failed', 'the context window was exceeded even after compaction; lower the compaction trigger');
  }
  if (reply.stopReason === 'pause_turn' || reply.stopReason === 'compaction') {
    return end(
      'failed',
      `the turn was still paused (stop reason "${reply.stopReason}") after ${MAX_CONTINUATIONS} continuations`,
    );
  }
  if (reply.stopReason === null || !ANSWERED.has(reply.stopReason))
    return end('failed', `unexpected stop reason ${JSON.stringify(reply.stopReason)}`);

  const cutOff = reply.stopReason === 'max_tokens';
  if (reply.toolCalls.length === 0) {
    const idleReplies = answered.counters.idleReplies + 1;
    const idle = { ...answered, counters: { ...answered.counters, idleReplies } };
    if (idleReplies >= options.maxIdleReplies)
      return end('stopped', `the model replied ${idleReplies} times in a row without using a tool`, idle);
    return { memory: { ...idle, nextUserMessage: [textBlock(cutOff ? CUT_OFF : NUDGE)] }, next: 'continue' };
  }
  return {
    memory: {
      ...answered,
      counters: { ...answered.counters, idleReplies: 0 },
      toolCallsToRun: reply.toolCalls,
      replyStoppedAtMaxTokens: cutOff,
    },
    next: 'continue',
  };
}
