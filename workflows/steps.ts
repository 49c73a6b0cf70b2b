import { ActivityFailure, ApplicationFailure, isCancellation, sleep } from '@temporalio/workflow';
import { UNKNOWN_MODEL_ERROR, type ModelCallResult, type PendingBlock, type ToolCall } from '../common/contracts.js';
import type { Escalation } from '../common/escalation.js';
import { withPersonSays } from './blocks.js';
import { backoffSeconds, callModelForTurn, countModelFailure } from './model-call.js';
import type { Step } from './next-step.js';
import { askPerson, closeEscalation, openEscalation, stopOutcome, stoppedBy } from './person.js';
import { continueAsNextRun, type Run, type RunEnd } from './run.js';
import { isStop, recordToolResult, runToolCall, runToolCalls } from './tool-calls.js';
import { applyReply, extendCaps, refusalEscalation, startTurn } from './turn.js';
import { MEMO_EVERY, publishMemo } from './visibility.js';

/** What a step leaves: how the run ends, or null to take the next step. */
export type StepDone = RunEnd | null;

/** Takes one step (next-step.ts names it); each handler reads and changes `run.memory`. */
export async function takeStep(run: Run, step: Step): Promise<StepDone> {
  switch (step.kind) {
    case 'stop':
      return stopNow(run);
    case 'continue-as-new':
      return continueAsNextRun(run);
    case 'ask-about-failures':
      return askAboutFailures(run);
    case 'await-refusal-guidance':
      return awaitRefusalGuidance(run, step.escalation);
    case 'run-tool-call':
      return runNextToolCall(run, step.call);
    case 'run-tool-calls':
      return runNextToolCalls(run, step.calls);
    case 'start-turn': {
      const started = await beginTurn(run);
      return started === 'call-model' ? callModelAndApply(run) : started;
    }
    case 'call-model':
      return callModelAndApply(run);
  }
}

/** A stopRun between steps; an escalation opened but not yet waited on (a refusal's) closes as the stopper's stop. */
function stopNow(run: Run): StepDone {
  const request = run.memory.stopRequest!;
  const outcome = stopOutcome(request, new Date().toISOString());
  const open = run.memory.openEscalation;
  if (open) run.memory = closeEscalation(run.memory, open, outcome);
  return { status: 'stopped', reason: stoppedBy(outcome) };
}

async function askAboutFailures(run: Run): Promise<StepDone> {
  const { failuresInRow } = run.memory.counters;
  const outcome = await askPerson(run, {
    kind: 'failures',
    reason: `${failuresInRow} failures in a row; the last: ${run.memory.lastFailure}`,
    question: 'Reply with guidance for the model, approve to carry on, or stop the run.',
  });
  if (outcome.decision === 'stop') return { status: 'stopped', reason: stoppedBy(outcome) };
  const memory = { ...run.memory, counters: { ...run.memory.counters, failuresInRow: 0 } };
  const guided = outcome.decision === 'reply' && outcome.message;
  run.memory = guided
    ? { ...memory, nextUserMessage: withPersonSays(memory.nextUserMessage, outcome.message!) }
    : memory;
  return null;
}

async function awaitRefusalGuidance(run: Run, refusal: Escalation): Promise<StepDone> {
  const outcome = await askPerson(run, refusal);
  if (outcome.decision !== 'reply') return { status: 'stopped', reason: `the model refused; ${stoppedBy(outcome)}` };
  run.memory = {
    ...run.memory,
    nextUserMessage: withPersonSays(run.memory.toolResults, outcome.message!),
    toolResults: [],
  };
  return null;
}

async function runNextToolCall(run: Run, call: ToolCall): Promise<StepDone> {
  const result = await runToolCall(run, call);
  if (isStop(result)) return { status: 'stopped', reason: stoppedBy(result) };
  run.memory = recordToolResult(run.memory, call, result);
  return finishedWithReply(run);
}

/** The calls run at the same time; their results are booked once all are in, in the order of the reply. */
async function runNextToolCalls(run: Run, calls: readonly ToolCall[]): Promise<StepDone> {
  const results = await runToolCalls(run, calls);
  const stop = results.find(isStop);
  if (stop) return { status: 'stopped', reason: stoppedBy(stop) };
  calls.forEach((call, i) => {
    run.memory = recordToolResult(run.memory, call, results[i] as PendingBlock);
  });
  return finishedWithReply(run);
}

/** A run that has its report completes once the reply's last call has its result. */
const finishedWithReply = (run: Run): StepDone =>
  run.memory.toolCallsToRun.length === 0 && run.memory.report !== undefined ? { status: 'completed' } : null;

/** Caps first: a run at a cap ends, wraps up, or asks a person for more; otherwise the turn is counted. */
async function beginTurn(run: Run): Promise<StepDone | 'call-model'> {
  const start = startTurn(run.memory, run.options);
  if (start.kind === 'end') return start.end;
  if (start.kind === 'ask-to-extend') {
    const { cap } = start;
    const outcome = await askPerson(run, {
      kind: cap.kind,
      reason: cap.text,
      // The question of the turn and token caps is as recorded runs asked it.
      question:
        cap.kind === 'cost_budget'
          ? 'Extend the run (dollars: extend --usd N) or stop it?'
          : 'Extend the run (turns and/or tokens) or stop it?',
    });
    if (outcome.decision !== 'extend') return { status: 'stopped', reason: `${cap.text}; ${stoppedBy(outcome)}` };
    run.memory = extendCaps(run.memory, outcome);
    return null;
  }
  run.memory = start.memory;
  if (run.memory.counters.turn % MEMO_EVERY === 0) publishMemo(run);
  return 'call-model';
}

async function callModelAndApply(run: Run): Promise<StepDone> {
  let reply: ModelCallResult;
  try {
    reply = await callModelForTurn(run);
  } catch (err) {
    // Retryable errors were already retried by Temporal: this one failed for good. A cancelled
    // call is the run's cancellation (agent.ts), not a model failure.
    if (!(err instanceof ActivityFailure) || isCancellation(err)) throw err;
    const message = err.cause?.message ?? err.message;
    // Nothing can change the run's model: waiting and asking a person again would only repeat it.
    if (run.patches.unknownModelFailsRun && isUnknownModel(err)) return { status: 'failed', reason: message };
    run.memory = countModelFailure(run.memory, message);
    const wait = backoffSeconds(run.memory, run.options);
    if (wait !== null) await sleep(`${wait} seconds`);
    return null;
  }
  const dropped = run.patches.refusedTurnDropped;
  const effect = applyReply(run.memory, reply, run.options, dropped);
  run.memory = effect.memory;
  if (effect.next === 'end') return effect.end;
  if (effect.next === 'ask-about-refusal') {
    // The wait is the next step's: opening it here lets a continued run resume it.
    openEscalation(run, {
      kind: 'refusal',
      ...(dropped
        ? refusalEscalation(reply.refusal)
        : { reason: 'the model refused to continue', question: 'Reply with guidance for the model, or stop the run.' }),
    });
  }
  return null;
}

const isUnknownModel = (err: ActivityFailure): boolean =>
  err.cause instanceof ApplicationFailure && err.cause.type === UNKNOWN_MODEL_ERROR;
