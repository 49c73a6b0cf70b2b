import { z } from 'zod';
import type { ToolCall } from './contracts.js';
import { describeZodError } from './options.js';
import { cutText, MAX_INPUT_DEPTH, measure } from './input-bounds.js';

/** Why a run stopped to ask a person. */
export const EscalationKind = z.enum([
  'model_request',
  'tool_approval',
  'turn_cap',
  'token_budget',
  'cost_budget',
  'failures',
  'refusal',
]);
export type EscalationKind = z.infer<typeof EscalationKind>;

export const Decision = z.enum(['approve', 'deny', 'reply', 'extend', 'stop']);
export type Decision = z.infer<typeof Decision>;

export interface Escalation {
  id: string;
  kind: EscalationKind;
  reason: string;
  question: string;
  /** The tool call waiting for approval, for `tool_approval`. */
  heldToolCall?: ToolCall;
  openedAt: string;
  deadline: string;
  /** The turn the run was at when it asked; absent in escalations opened before it was recorded. */
  turn?: number;
}

/**
 * An answer larger than this (JSON, UTF-8) is refused before it is parsed: a message of 20,000
 * characters is at most 60,000 bytes, and the rest of an answer is small.
 */
export const MAX_RESPONSE_BYTES = 64 * 1024;

/** An answer, as sent by the `humanResponse` signal or the `respond` update. */
export const HumanResponse = z
  .object({
    escalationId: z.string().min(1, 'escalationId is empty'),
    decision: Decision,
    message: z.string().trim().min(1, 'message is empty').max(20_000).optional(),
    turns: z.number().int().positive('turns must be a positive whole number').max(100_000).optional(),
    tokens: z.number().int().positive('tokens must be a positive whole number').optional(),
    /** Dollars added to a cost budget. */
    usd: z.number().positive('usd must be more than 0').max(1_000_000).optional(),
    by: z.string().max(200).optional(),
  })
  .strict();
export type HumanResponse = z.infer<typeof HumanResponse>;

/** The stopRun update's argument: who stops the run, and why. */
export const StopRequest = z
  .object({
    by: z.string().trim().min(1, 'by is empty').max(200),
    message: z.string().trim().min(1, 'message is empty').max(2_000).optional(),
  })
  .strict();
export type StopRequest = z.infer<typeof StopRequest>;

/** Checks a stopRun argument: the request, or a one-line reason for refusing it. */
export function checkStopRequest(raw: unknown): { ok: true; request: StopRequest } | { ok: false; error: string } {
  const parsed = StopRequest.safeParse(raw);
  return parsed.success
    ? { ok: true, request: parsed.data }
    : { ok: false, error: `stopRun takes {by, message?}: ${describeZodError(parsed.error)}` };
}

export interface Outcome {
  decision: Decision;
  message?: string;
  turns?: number;
  tokens?: number;
  usd?: number;
  /** `timeout` when nobody answered before the deadline and the run's default applied. */
  by: string;
  at: string;
}

export interface ClosedEscalation extends Escalation {
  outcome: Outcome;
}

/** Which decisions make sense for which kind of escalation. */
export const ALLOWED: Record<EscalationKind, readonly Decision[]> = {
  model_request: ['reply', 'approve', 'deny', 'stop'],
  tool_approval: ['approve', 'deny', 'stop'],
  turn_cap: ['extend', 'stop'],
  token_budget: ['extend', 'stop'],
  cost_budget: ['extend', 'stop'],
  failures: ['reply', 'approve', 'stop'],
  refusal: ['reply', 'stop'],
};

/**
 * Checks an answer against the open escalation: pure and synchronous, so it serves as the update
 * validator (a refused update is never written to history) and as the signal's guard.
 * Returns the parsed answer or a one-line reason for refusing it.
 */
export function checkResponse(
  raw: unknown,
  open: Escalation | null,
  closedIds: ReadonlySet<string>,
  alreadyAnswered: boolean,
): { ok: true; response: HumanResponse } | { ok: false; error: string } {
  // Before parsing: a huge or deeply nested payload costs no more than the limit to refuse.
  const size = measure(raw, { maxDepth: MAX_INPUT_DEPTH, maxBytes: MAX_RESPONSE_BYTES });
  if (size.exceeded === 'bytes')
    return { ok: false, error: `the answer is larger than ${MAX_RESPONSE_BYTES} bytes as JSON, the limit` };
  if (size.exceeded === 'depth')
    return { ok: false, error: `the answer is nested deeper than ${MAX_INPUT_DEPTH} levels, the limit` };
  const parsed = HumanResponse.safeParse(raw);
  if (!parsed.success) return { ok: false, error: describeZodError(parsed.error) };
  const r = parsed.data;
  if (closedIds.has(r.escalationId)) return { ok: false, error: `escalation ${r.escalationId} is already closed` };
  if (!open || open.id !== r.escalationId) {
    return { ok: false, error: `no open escalation ${r.escalationId}${open ? ` (the open one is ${open.id})` : ''}` };
  }
  if (alreadyAnswered) return { ok: false, error: `escalation ${r.escalationId} has already been answered` };
  if (!ALLOWED[open.kind].includes(r.decision)) {
    return {
      ok: false,
      error: `${r.decision} does not answer a ${open.kind} escalation; use ${ALLOWED[open.kind].join(', ')}`,
    };
  }
  if (r.decision === 'reply' && !r.message) return { ok: false, error: 'reply needs a message' };
  if (r.decision === 'deny' && !r.message) {
    return { ok: false, error: 'deny needs a message: the model is told why' };
  }
  if (r.decision === 'extend') {
    if (open.kind === 'turn_cap' && !r.turns) return { ok: false, error: 'extend of a turn cap needs turns > 0' };
    if (open.kind === 'token_budget' && !r.tokens)
      return { ok: false, error: 'extend of a token budget needs tokens > 0' };
    if (open.kind === 'cost_budget' && !r.usd) return { ok: false, error: 'extend of a cost budget needs usd > 0' };
  }
  return { ok: true, response: r };
}

/** What applies when the deadline passes with no answer. */
export function timeoutOutcome(kind: EscalationKind, onTimeout: 'deny' | 'stop', at: string, waited: string): Outcome {
  const deny = onTimeout === 'deny' && ALLOWED[kind].includes('deny');
  return deny
    ? { decision: 'deny', message: `No person answered within ${waited}; the request is declined.`, by: 'timeout', at }
    : { decision: 'stop', message: `No person answered within ${waited}.`, by: 'timeout', at };
}

/**
 * An open escalation's question as the memo shows it (waitingOnPerson, below the Web UI's size
 * warning): a held call's line, without the approval detail below it (workflows/tool-calls.ts).
 */
export const questionLine = ({ kind, question }: Pick<Escalation, 'kind' | 'question'>): string =>
  kind === 'tool_approval' ? question.split('\n', 1)[0]! : question;

/** What a closed escalation keeps of its texts: the memory carries up to HISTORY_LIMIT of them into every next run. */
export const CLOSED_TEXT_CHARS = 300;
/** A held call's input is kept when its JSON is at most this large; otherwise the question (its display line) stands for it. */
export const CLOSED_INPUT_BYTES = 512;

const cut = (text: string) => cutText(text, CLOSED_TEXT_CHARS);

/**
 * An escalation closed with its outcome, bounded: long texts cut; of the held call its id, name,
 * reference, and input only when small (the question holds its display line).
 */
export function closedEscalation(escalation: Escalation, outcome: Outcome): ClosedEscalation {
  const { heldToolCall: held, ...rest } = escalation;
  let heldToolCall: ToolCall | undefined;
  if (held) {
    const { display: _, input, ...call } = held;
    const small = measure(input, { maxDepth: MAX_INPUT_DEPTH, maxBytes: CLOSED_INPUT_BYTES }).exceeded === null;
    heldToolCall = { ...call, input: small ? input : {} };
  }
  return {
    ...rest,
    reason: cut(escalation.reason),
    question: cut(escalation.question),
    ...(heldToolCall ? { heldToolCall } : {}),
    outcome: outcome.message === undefined ? outcome : { ...outcome, message: cut(outcome.message) },
  };
}
