import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { setTimeout as sleep } from 'node:timers/promises';

export interface Settled<R> {
  /** One line: `completed`, `stopped: turn cap …`, `terminated: Workflow history size exceeds limit.`, … */
  outcome: string;
  seconds: number;
  result?: R;
}

/**
 * Waits for a run (following continue-as-new) and says how it ended instead of throwing: a naive
 * run that Temporal terminates is a result of this benchmark, not a crash. A run still open at the
 * deadline (say, a workflow task failing forever on an oversized payload) is terminated.
 */
export async function settle<R extends { status: string; reason?: string }>(
  handle: WorkflowHandle,
  deadlineMs: number,
): Promise<Settled<R>> {
  const started = Date.now();
  const seconds = () => Math.round((Date.now() - started) / 100) / 10;
  const deadline = sleep(deadlineMs, 'deadline' as const, { ref: false });
  try {
    const result = (await Promise.race([handle.result(), deadline])) as R | 'deadline';
    if (result === 'deadline') {
      await handle.terminate('history benchmark: deadline reached');
      return { outcome: `terminated by the benchmark after ${deadlineMs / 60_000} min`, seconds: seconds() };
    }
    return {
      outcome: result.reason ? `${result.status}: ${result.reason}` : result.status,
      seconds: seconds(),
      result,
    };
  } catch (err) {
    if (!(err instanceof WorkflowFailedError)) throw err;
    return { outcome: `${err.cause?.name ?? 'failed'}: ${err.cause?.message ?? err.message}`, seconds: seconds() };
  }
}
