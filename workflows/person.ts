import { condition, log, workflowInfo } from '@temporalio/workflow';
import type { ToolCall } from '../common/contracts.js';
import {
  closedEscalation,
  timeoutOutcome,
  type Escalation,
  type EscalationKind,
  type HumanResponse,
  type Outcome,
  type StopRequest,
} from '../common/escalation.js';
import type { RunOptions } from '../common/options.js';
import { notifyEscalation } from './activities.js';
import { HISTORY_LIMIT, type RunMemory } from './memory.js';
import { continueAsNextRun, type Run } from './run.js';
import { setStatus } from './visibility.js';

/** Asking a person: open an escalation, wait on a durable timer for the answer, book the outcome. */

export interface Question {
  kind: EscalationKind;
  reason: string;
  question: string;
  /** The tool call waiting for approval, for `tool_approval`. */
  heldToolCall?: ToolCall;
}

/** The next escalation of the run, numbered in the memory, with its deadline from the options. */
export function newEscalation(memory: RunMemory, options: RunOptions, ask: Question, nowMs: number): Escalation {
  return {
    id: `esc-${memory.escalationSeq + 1}`,
    kind: ask.kind,
    reason: ask.reason,
    question: ask.question,
    ...(ask.heldToolCall ? { heldToolCall: ask.heldToolCall } : {}),
    openedAt: new Date(nowMs).toISOString(),
    deadline: new Date(nowMs + options.escalation.timeoutSeconds * 1000).toISOString(),
    turn: memory.counters.turn,
  };
}

/** The outcome of an answer a person gave. */
export function answeredOutcome(answer: HumanResponse, at: string): Outcome {
  return {
    decision: answer.decision,
    ...(answer.message ? { message: answer.message } : {}),
    ...(answer.turns ? { turns: answer.turns } : {}),
    ...(answer.tokens ? { tokens: answer.tokens } : {}),
    ...(answer.usd ? { usd: answer.usd } : {}),
    by: answer.by ?? 'human',
    at,
  };
}

/** The escalation closed with its outcome (bounded: common/escalation.ts), kept in the newest HISTORY_LIMIT. */
export function closeEscalation(memory: RunMemory, escalation: Escalation, outcome: Outcome): RunMemory {
  return {
    ...memory,
    escalations: [...memory.escalations, closedEscalation(escalation, outcome)].slice(-HISTORY_LIMIT),
    openEscalation: null,
  };
}

/** Why a run stopped on an outcome, for its reason. */
export const stoppedBy = (outcome: Outcome): string =>
  outcome.by === 'timeout'
    ? (outcome.message ?? 'no answer in time')
    : `stopped by ${outcome.by}${outcome.message ? `: ${outcome.message}` : ''}`;

/** The outcome of a stopRun update that came while a person was asked: the escalation closes as the stopper's stop. */
export const stopOutcome = (request: StopRequest, at: string): Outcome => ({
  decision: 'stop',
  ...(request.message ? { message: request.message } : {}),
  by: request.by,
  at,
});

/** The timer's summary in the Web UI's event list: which escalation's deadline it is. */
export const deadlineSummary = (escalation: Escalation): string =>
  `deadline of ${escalation.id} (${escalation.kind}): answer by ${escalation.deadline}`;

/** Opens an escalation (and sends the webhook, if the run has one); waiting for it is `askPerson`'s part. */
export function openEscalation(run: Run, ask: Question): Escalation {
  const escalation = newEscalation(run.memory, run.options, ask, Date.now());
  run.memory = { ...run.memory, escalationSeq: run.memory.escalationSeq + 1, openEscalation: escalation };
  run.answer = null;
  const turn = run.memory.counters.turn;
  log.info('escalation opened', { turn, id: escalation.id, kind: escalation.kind });
  const url = run.options.escalation.webhookUrl;
  if (url) {
    // Notification must not hold the run: the person may answer before the webhook lands.
    notifyEscalation({ url, workflowId: run.workflowId, escalation }).catch((err: unknown) =>
      // The escalation's turn: the run may be turns further on when the webhook fails.
      log.warn('escalation webhook failed', { turn, id: escalation.id, error: String(err) }),
    );
  }
  return escalation;
}

/**
 * Opens an escalation, or resumes the one already open (carried by a continued run), and waits
 * on a durable timer for a person's answer or the deadline. While it waits the run may continue
 * as new; the escalation goes with it.
 */
export async function askPerson(run: Run, ask: Question): Promise<Outcome> {
  const escalation = run.memory.openEscalation ?? openEscalation(run, ask);
  setStatus(run, 'awaiting_human', escalation.kind);
  const deadline = Date.parse(escalation.deadline);
  const remaining = deadline - Date.now();
  const stopping = () => run.memory.stopRequest !== undefined;
  if (remaining > 0 && !stopping()) {
    const answered = () => run.answer !== null || stopping() || workflowInfo().continueAsNewSuggested;
    // The summary is metadata on the timer, not a command of its own.
    await condition(answered, remaining, { summary: deadlineSummary(escalation) });
  }
  const answer = run.answer;
  const stop = run.memory.stopRequest;
  if (!answer && !stop && workflowInfo().continueAsNewSuggested && deadline > Date.now()) await continueAsNextRun(run);
  const at = new Date().toISOString();
  const { onTimeout, timeoutSeconds } = run.options.escalation;
  const outcome = stop
    ? stopOutcome(stop, at)
    : answer
      ? answeredOutcome(answer, at)
      : timeoutOutcome(escalation.kind, onTimeout, at, `${timeoutSeconds} s`);
  run.memory = closeEscalation(run.memory, escalation, outcome);
  run.answer = null;
  setStatus(run, 'running');
  return outcome;
}
