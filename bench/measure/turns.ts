import { defaultPayloadConverter } from '@temporalio/common';
import proto from '@temporalio/proto';

export type HistoryEvent = proto.temporal.api.history.v1.IHistoryEvent;

/** What one event adds to history: its protobuf encoding, the form Temporal stores and limits. */
export const eventBytes = (event: HistoryEvent): number =>
  proto.temporal.api.history.v1.HistoryEvent.encode(event).finish().length;

export interface TurnRecord {
  turn: number;
  /** Input tokens of the turn's model call, as the simulator reported them; null if it never completed. */
  contextTokens: number | null;
  events: number;
  bytes: number;
  /** The largest single event of the turn (the model-call input, in the naive design). */
  largestEventBytes: number;
}

/**
 * Splits a history (or the events of a chain of runs, in order) into turns. A turn starts at the
 * scheduling of a model-call activity and runs to the next one; the events before the first call
 * (the workflow's start) count towards turn 1. With compaction off, one turn is one model call.
 */
export function splitIntoTurns(events: HistoryEvent[], modelActivity: string): TurnRecord[] {
  const turns: TurnRecord[] = [];
  const turnOfCall = new Map<string, TurnRecord>();
  let current: TurnRecord | undefined;
  const preamble = { events: 0, bytes: 0, largestEventBytes: 0 };

  for (const event of events) {
    // Event ids start again with each run of a chain.
    if (event.workflowExecutionStartedEventAttributes) turnOfCall.clear();
    const scheduled = event.activityTaskScheduledEventAttributes;
    if (scheduled?.activityType?.name === modelActivity) {
      current = { turn: turns.length + 1, contextTokens: null, events: 0, bytes: 0, largestEventBytes: 0 };
      if (turns.length === 0) Object.assign(current, preamble);
      turns.push(current);
      turnOfCall.set(String(event.eventId), current);
    }
    const completed = event.activityTaskCompletedEventAttributes;
    const callTurn = completed ? turnOfCall.get(String(completed.scheduledEventId)) : undefined;
    if (callTurn) callTurn.contextTokens = inputTokensOf(completed?.result?.payloads?.[0]);

    const size = eventBytes(event);
    const into = current ?? preamble;
    into.events += 1;
    into.bytes += size;
    into.largestEventBytes = Math.max(into.largestEventBytes, size);
  }
  return turns;
}

function inputTokensOf(payload: proto.temporal.api.common.v1.IPayload | undefined): number | null {
  if (!payload) return null;
  const reply = defaultPayloadConverter.fromPayload<{ usage?: { inputTokens?: number } }>(payload);
  return reply.usage?.inputTokens ?? null;
}
