/** The worker's log: one JSON object per line on stderr (or Temporal's plain text), for Runtime.install. */
import { DefaultLogger, type LogEntry, type Logger, type LogLevel } from '@temporalio/worker';

export type LogFormat = 'json' | 'text';

/**
 * `{ time, level, message, ...meta }`. The meta is what Temporal attaches (workflowId, runId,
 * workflowType or activityType, taskQueue, sdkComponent; trace_id and span_id when traced) and what
 * the call site passes (turn, …). The fixed fields come first and meta cannot replace them.
 */
export function jsonLogLine({ timestampNanos, level, message, meta }: LogEntry): string {
  const head = { time: new Date(Number(timestampNanos / 1_000_000n)).toISOString(), level, message };
  try {
    return `${JSON.stringify({ ...head, ...meta, ...head }, jsonSafe)}\n`;
  } catch (err) {
    // A cyclic meta must not cost the line, nor throw into the code that logged it.
    return `${JSON.stringify({ ...head, metaError: String(err) })}\n`;
  }
}

function jsonSafe(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  // An Error's own fields are not enumerable, so JSON.stringify would write `{}`.
  if (value instanceof Error) return { name: value.name, message: value.message, stack: value.stack };
  return value;
}

export function createLogger(
  { format, level }: { format: LogFormat; level: LogLevel },
  write: (line: string) => void = (line) => process.stderr.write(line),
): Logger {
  return format === 'json' ? new DefaultLogger(level, (entry) => write(jsonLogLine(entry))) : new DefaultLogger(level);
}
