import { tsToMs } from '@temporalio/common/lib/time.js';
import type { HistoryEvent } from './turns.js';

/** When the server wrote the event, in epoch milliseconds. */
export const eventMs = (event: HistoryEvent): number => tsToMs(event.eventTime);

/**
 * The times at which a run's model calls completed (ActivityTaskCompleted), in order, over the
 * events of a chain of runs. Event ids start again with each run, so the map is reset at each start.
 */
export function completionTimes(events: HistoryEvent[], activityType: string): number[] {
  const scheduled = new Set<string>();
  const times: number[] = [];
  for (const event of events) {
    if (event.workflowExecutionStartedEventAttributes) scheduled.clear();
    if (event.activityTaskScheduledEventAttributes?.activityType?.name === activityType)
      scheduled.add(String(event.eventId));
    const completed = event.activityTaskCompletedEventAttributes;
    if (completed && scheduled.has(String(completed.scheduledEventId))) times.push(eventMs(event));
  }
  return times;
}

/** Where a turn's time goes, per step: samples in milliseconds, from the history's own timestamps. */
export interface StepLatencies {
  /** WorkflowTaskScheduled → WorkflowTaskStarted: waiting for a worker to take the workflow task. */
  workflowTaskScheduleToStart: number[];
  /** WorkflowTaskStarted → WorkflowTaskCompleted: the worker running the workflow code. */
  workflowTaskStartToComplete: number[];
  /** ActivityTaskScheduled → ActivityTaskStarted, by activity type. */
  activityScheduleToStart: Record<string, number[]>;
  /** ActivityTaskStarted → ActivityTaskCompleted, by activity type: the activity itself. */
  activityStartToComplete: Record<string, number[]>;
  /** Workflow tasks that timed out (on a dead worker, or on its sticky queue). */
  workflowTaskTimedOut: number;
}

export function stepLatencies(events: HistoryEvent[]): StepLatencies {
  const out: StepLatencies = {
    workflowTaskScheduleToStart: [],
    workflowTaskStartToComplete: [],
    activityScheduleToStart: {},
    activityStartToComplete: {},
    workflowTaskTimedOut: 0,
  };
  const at = new Map<string, number>();
  const typeOf = new Map<string, string>();
  const push = (into: Record<string, number[]>, key: string, value: number) => (into[key] ??= []).push(value);
  for (const event of events) {
    if (event.workflowExecutionStartedEventAttributes) {
      at.clear();
      typeOf.clear();
    }
    const id = String(event.eventId);
    const ms = eventMs(event);
    at.set(id, ms);
    const wftStarted = event.workflowTaskStartedEventAttributes;
    if (wftStarted) out.workflowTaskScheduleToStart.push(ms - at.get(String(wftStarted.scheduledEventId))!);
    const wftCompleted = event.workflowTaskCompletedEventAttributes;
    if (wftCompleted) out.workflowTaskStartToComplete.push(ms - at.get(String(wftCompleted.startedEventId))!);
    if (event.workflowTaskTimedOutEventAttributes) out.workflowTaskTimedOut += 1;
    const scheduled = event.activityTaskScheduledEventAttributes;
    if (scheduled) typeOf.set(id, scheduled.activityType?.name ?? '?');
    const started = event.activityTaskStartedEventAttributes;
    if (started) {
      const key = String(started.scheduledEventId);
      push(out.activityScheduleToStart, typeOf.get(key) ?? '?', ms - at.get(key)!);
    }
    const completed = event.activityTaskCompletedEventAttributes;
    if (completed) {
      push(
        out.activityStartToComplete,
        typeOf.get(String(completed.scheduledEventId)) ?? '?',
        ms - at.get(String(completed.startedEventId))!,
      );
    }
  }
  return out;
}

/** Merges the latencies of many runs. */
export function mergeLatencies(all: StepLatencies[]): StepLatencies {
  const merged = stepLatencies([]);
  for (const l of all) {
    merged.workflowTaskScheduleToStart.push(...l.workflowTaskScheduleToStart);
    merged.workflowTaskStartToComplete.push(...l.workflowTaskStartToComplete);
    merged.workflowTaskTimedOut += l.workflowTaskTimedOut;
    for (const [k, v] of Object.entries(l.activityScheduleToStart))
      (merged.activityScheduleToStart[k] ??= []).push(...v);
    for (const [k, v] of Object.entries(l.activityStartToComplete))
      (merged.activityStartToComplete[k] ??= []).push(...v);
  }
  return merged;
}
