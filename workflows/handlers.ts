import { log, setHandler } from '@temporalio/workflow';
import { checkResponse, checkStopRequest } from '../common/escalation.js';
import { cutText } from '../common/input-bounds.js';
import {
  escalationQuery,
  humanResponseSignal,
  progressQuery,
  respondUpdate,
  stateQuery,
  stopRunUpdate,
  stopSignal,
} from '../common/messages.js';
import { buildProgress } from '../common/progress.js';
import { HISTORY_LIMIT, type RunMemory } from './memory.js';
import type { Run } from './run.js';
import { showDetails } from './visibility.js';

/** Checks an answer against the run's open escalation; pure, so it also serves as the update's validator. */
const checkAnswer = (run: Run, raw: unknown) =>
  checkResponse(raw, run.memory.openEscalation, new Set(run.memory.escalations.map((e) => e.id)), run.answer !== null);

/** A refused answer (malformed, oversize, for no open escalation) is recorded (the newest HISTORY_LIMIT), never a failure of the run. */
export const withIgnoredResponse = (memory: RunMemory, reason: string, at: string): RunMemory => ({
  ...memory,
  ignoredResponses: [...memory.ignoredResponses, { reason: cutText(reason, REASON_CHARS), at }].slice(-HISTORY_LIMIT),
});

/** A reason quotes what was sent (zod's messages may): kept short, since the memory carries HISTORY_LIMIT of them. */
const REASON_CHARS = 300;

/** The queries, which only read the run. */
export function installQueries(run: Run): void {
  setHandler(progressQuery, () => buildProgress(run.memory, run.status, run.reason));
  setHandler(stateQuery, () => run.memory.state);
  setHandler(escalationQuery, () => run.memory.openEscalation);
}

/** Queries read the run; the signal and the update hand an answer to the person's wait (person.ts). */
export function installHandlers(run: Run): void {
  installQueries(run);
  setHandler(humanResponseSignal, (raw) => {
    const checked = checkAnswer(run, raw);
    if (checked.ok) run.answer = checked.response;
    else {
      log.info('ignored a humanResponse signal', { turn: run.memory.counters.turn, reason: checked.error });
      run.memory = withIgnoredResponse(run.memory, checked.error, new Date().toISOString());
      // So that the Web UI, where such signals are typed, says it was ignored and why.
      showDetails(run);
    }
  });
  setHandler(
    respondUpdate,
    (response) => {
      run.answer = response;
      return { escalationId: response.escalationId, decision: response.decision };
    },
    {
      validator: (raw) => {
        const checked = checkAnswer(run, raw);
        if (!checked.ok) throw new Error(checked.error);
      },
    },
  );
  setHandler(
    stopRunUpdate,
    (raw) => {
      const checked = checkStopRequest(raw);
      // The validator let it through; a replay without validators reads it the same way.
      if (checked.ok) run.memory = { ...run.memory, stopRequest: checked.request };
      log.info('stop requested', { turn: run.memory.counters.turn, by: checked.ok ? checked.request.by : '?' });
      return { stopping: true };
    },
    {
      validator: (raw) => {
        const refused = stopRefused(run, raw);
        if (refused) throw new Error(refused);
      },
    },
  );
  // A parent's stop (workflows/delegate.ts): a signal has no validator, so what stopRun's refuses is ignored here.
  setHandler(stopSignal, (raw) => {
    const refused = stopRefused(run, raw);
    const checked = checkStopRequest(raw);
    if (refused || !checked.ok) {
      log.info('ignored a stop signal', { turn: run.memory.counters.turn, reason: refused ?? '' });
      return;
    }
    run.memory = { ...run.memory, stopRequest: checked.request };
    log.info('stop requested', { turn: run.memory.counters.turn, by: checked.request.by });
  });
}

/** Why a stopRun is refused, or null: a malformed argument, or a run already stopping or ending. */
export function stopRefused(run: Pick<Run, 'memory' | 'status'>, raw: unknown): string | null {
  const checked = checkStopRequest(raw);
  if (!checked.ok) return checked.error;
  const asked = run.memory.stopRequest;
  if (asked) return `the run is already stopping (asked by ${asked.by})`;
  if (run.status === 'completed' || run.status === 'stopped' || run.status === 'failed')
    return `the run is already ending (${run.status})`;
  if (run.memory.report !== undefined) return 'the run has its report and is completing';
  return null;
}
