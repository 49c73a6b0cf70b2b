import { z } from 'zod';

/** Scripted failures, served first-in first-out to the API requests they match. */
export const FaultSchema = z
  .object({
    /** Answer with this HTTP error; `body` replaces the generated error body. */
    status: z.number().int().min(400).max(599).optional(),
    headers: z.record(z.string(), z.string()).optional(),
    body: z.unknown().optional(),
    errorType: z.string().min(1).optional(),
    errorCode: z.string().min(1).optional(),
    /** How many matching requests this fault serves before it leaves the queue. */
    times: z.number().int().positive().default(1),
    /** Destroy the socket without any response. */
    dropConnection: z.boolean().default(false),
    /** Wait before answering (normally, or with the error above). */
    delayMs: z.number().int().nonnegative().default(0),
    /** Wait, after any delay, until the simulator is told to release its held requests. */
    hold: z.boolean().default(false),
    match: z.enum(['messages', 'count_tokens', 'any']).default('any'),
    /**
     * Answer a messages request as if its context outgrew the model's window (stop_reason
     * `model_context_window_exceeded`, nothing generated), whatever the simulator's window: forces
     * a client's on-demand compaction at a point a test chooses.
     */
    contextWindowExceeded: z.boolean().default(false),
    /** Answer a /v1/messages request with stop_reason `pause_turn` and no content, as a paused long turn. */
    pauseTurn: z.boolean().default(false),
    /** A streamed reply sends this many events, then `event: error` with an overloaded_error body. */
    streamErrorAfterEvents: z.number().int().nonnegative().optional(),
    /** A streamed reply sends this many events, then the socket is destroyed. */
    cutStreamAfterEvents: z.number().int().nonnegative().optional(),
  })
  .strict()
  .refine((f) => f.status !== undefined || (f.headers ?? f.body ?? f.errorType ?? f.errorCode) === undefined, {
    message: 'headers, body, errorType and errorCode only apply together with status',
  })
  .refine(
    (f) =>
      [
        f.status !== undefined,
        f.dropConnection,
        f.pauseTurn,
        f.streamErrorAfterEvents !== undefined,
        f.cutStreamAfterEvents !== undefined,
      ].filter(Boolean).length <= 1,
    {
      message: 'status, dropConnection, pauseTurn, streamErrorAfterEvents and cutStreamAfterEvents exclude each other',
    },
  );

export type Fault = z.input<typeof FaultSchema>;
export type ActiveFault = z.output<typeof FaultSchema>;
export type ApiRoute = 'messages' | 'count_tokens' | 'other';

export class FaultQueue {
  #queue: ActiveFault[] = [];

  /** Validates every fault first, so a bad list queues nothing. */
  push(faults: Fault[]): void {
    this.#queue.push(...faults.map((fault) => FaultSchema.parse(fault)));
  }

  /** Drops every queued fault. */
  clear(): void {
    this.#queue = [];
  }

  /**
   * The head fault if it matches the request (it then serves one time); otherwise none. A paused
   * turn needs a /v1/messages request, a stream fault a streamed one.
   */
  take(route: ApiRoute, streamed: boolean): ActiveFault | null {
    const head = this.#queue[0];
    if (!head || (head.match !== 'any' && head.match !== route)) return null;
    const streamFault = head.streamErrorAfterEvents !== undefined || head.cutStreamAfterEvents !== undefined;
    if ((head.pauseTurn || streamFault) && route !== 'messages') return null;
    if (streamFault && !streamed) return null;
    head.times -= 1;
    if (head.times === 0) this.#queue.shift();
    return head;
  }
}
