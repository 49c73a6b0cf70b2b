import { Context } from '@temporalio/activity';

/** A fifth of the activities' heartbeat timeout (workflows/agent.ts): several beats may be late. */
export const HEARTBEAT_EVERY_MS = 1_000;

/**
 * Heartbeats while `work` runs, so that a worker that dies mid-activity is noticed within the
 * heartbeat timeout instead of the whole start-to-close budget, and cancellation reaches the
 * activity. Returns a `beat` for callers that also want to beat on progress (stream events).
 */
export async function withHeartbeat<T>(details: unknown, work: (beat: () => void) => Promise<T>): Promise<T> {
  const ctx = Context.current();
  // A local activity has no heartbeat: the worker running it extends its workflow task instead.
  if (ctx.info.isLocal) return work(() => {});
  let last = 0;
  const beat = () => {
    if (Date.now() - last >= HEARTBEAT_EVERY_MS) {
      last = Date.now();
      ctx.heartbeat(details);
    }
  };
  const ticker = setInterval(beat, HEARTBEAT_EVERY_MS);
  try {
    return await work(beat);
  } finally {
    clearInterval(ticker);
  }
}
