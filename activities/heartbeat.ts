import { Context } from '@temporalio/activity';

/** A fifth of the default heartbeat timeout (RunOptions.heartbeatTimeoutMs): several beats may be late. */
export const HEARTBEAT_EVERY_MS = 1_000;

/** Beats for an activity: every fifth of its heartbeat timeout, at most every HEARTBEAT_EVERY_MS. */
export const heartbeatEveryMs = (heartbeatTimeoutMs: number | undefined): number =>
  Math.min(HEARTBEAT_EVERY_MS, Math.max(100, Math.floor((heartbeatTimeoutMs ?? 5 * HEARTBEAT_EVERY_MS) / 5)));

/**
 * Heartbeats while `work` runs, so that a worker that dies mid-activity is noticed within the
 * heartbeat timeout instead of the whole start-to-close budget, and cancellation reaches the
 * activity. Returns a `beat` for callers that also want to beat on progress (stream events).
 */
export async function withHeartbeat<T>(details: unknown, work: (beat: () => void) => Promise<T>): Promise<T> {
  const ctx = Context.current();
  // A local activity has no heartbeat: the worker running it extends its workflow task instead.
  if (ctx.info.isLocal) return work(() => {});
  const every = heartbeatEveryMs(ctx.info.heartbeatTimeoutMs);
  let last = 0;
  const beat = () => {
    if (Date.now() - last >= every) {
      last = Date.now();
      ctx.heartbeat(details);
    }
  };
  const ticker = setInterval(beat, every);
  try {
    return await work(beat);
  } finally {
    clearInterval(ticker);
  }
}
