import { ActivityFailure, ApplicationFailure, isCancellation } from '@temporalio/workflow';
import type { CarriedMemory } from '../common/carried-memory.js';
import { applyStateUpdate } from '../common/state.js';
import { loadState } from './activities.js';
import { askPerson, stoppedBy } from './person.js';
import type { Run, RunEnd } from './run.js';

/**
 * A continued run's state, carried by reference (patch `state-by-reference`): the stored state
 * plus the updates since, read back into `run.memory`. The run cannot go on without it, so while
 * it cannot be read (the store lost or changed) a person is asked, as for a model call that cannot
 * read the transcript: approve or reply reads it again, stop (or no answer in time) ends the run. A run continued while
 * a person was being asked fails instead, naming the reason: that question stays its open one.
 */
export async function readCarriedState(run: Run, carried: CarriedMemory): Promise<RunEnd | undefined> {
  const ref = carried.stateRef;
  if (!ref) throw ApplicationFailure.nonRetryable('the carried memory has neither a state nor its reference');
  for (;;) {
    try {
      const stored = await loadState(ref);
      run.memory = { ...run.memory, state: carried.stateUpdates.reduce(applyStateUpdate, stored) };
      return undefined;
    } catch (err) {
      if (!(err instanceof ActivityFailure) || isCancellation(err)) throw err;
      const why = `reading the run's state: ${err.cause?.message ?? err.message}`;
      // The run continued while a person was being asked: that question stays open, none is added.
      if (run.memory.openEscalation) return { status: 'failed', reason: why };
      const outcome = await askPerson(run, {
        kind: 'failures',
        reason: why,
        question: 'The run cannot go on without its state. Restore the store and approve to read it again, or stop.',
      });
      if (outcome.decision === 'stop') return { status: 'stopped', reason: stoppedBy(outcome) };
    }
  }
}
