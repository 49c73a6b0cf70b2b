import { proxyActivities, proxyLocalActivities, type RetryPolicy } from '@temporalio/workflow';
import type { LonghaulActivities } from '../common/contracts.js';

// Every activity's options, in one place. The model and tool activities heartbeat every second, so
// a dead worker is noticed within the 5 s heartbeat timeout (a run's heartbeatTimeoutMs, given at
// each call, may shorten it) rather than after the whole start-to-close budget; the first retry
// follows half a second later. (3 s was measured too tight: a worker saturated by 100 runs
// missed it 238 times in one benchmark run, each a model call done twice; 5 s, twice.)
export const { callModel, compactTranscript } = proxyActivities<LonghaulActivities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '5 seconds',
  retry: {
    initialInterval: '500 milliseconds',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    maximumAttempts: 12,
  },
});

// A tool activity that fails for good is a tool error for the model (workflows/tool-calls.ts): with
// the waits capped at 8 s, a store outage gives up after about 30 s of waits (0.5+1+2+4+8+8+8)
// instead of the 60 s a 30 s cap gave, and the model and the failure counter hear of it sooner.
const toolRetry: RetryPolicy = {
  initialInterval: '500 milliseconds',
  backoffCoefficient: 2,
  maximumInterval: '8 seconds',
  maximumAttempts: 8,
};
export const { runTool } = proxyActivities<LonghaulActivities>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '5 seconds',
  retry: toolRetry,
});

/**
 * Calls that change nothing (reads) run in the worker within the workflow task that follows the
 * model call: no dispatch through the server, and one workflow task a turn instead of two.
 */
export const { runTool: runToolLocally } = proxyLocalActivities<LonghaulActivities>({
  startToCloseTimeout: '2 minutes',
  retry: toolRetry,
});

export const { notifyEscalation } = proxyActivities<LonghaulActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 10 },
});

/**
 * A continued run's state carried by reference, read from the store (retried while the store is
 * down): an activity on the server, not a local one, for the same reason as admitRun below.
 */
export const { loadState } = proxyActivities<LonghaulActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

/** The agent's profile is in the worker's memory: a local activity costs no extra round trip. */
export const { agentProfile } = proxyLocalActivities<LonghaulActivities>({
  startToCloseTimeout: '10 seconds',
  retry: { maximumAttempts: 3 },
});

/**
 * Admission is an activity on the server, not a local one, though it costs a round trip: a query
 * answered while a local activity was running at a run's start split the first workflow task, and
 * a worker that replayed that history met the next patch marker early (nondeterminism; seen in
 * test/escalation.test.ts, "a waiting escalation across a worker crash").
 */
export const { admitRun } = proxyActivities<LonghaulActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '500 milliseconds', maximumAttempts: 3 },
});

/** A sub-agent's large report into the store (workflows/delegate.ts): the store is on the worker, and no round trip is needed. */
export const { storeResult } = proxyLocalActivities<LonghaulActivities>({
  startToCloseTimeout: '1 minute',
  retry: toolRetry,
});
