import type { TurnRecord } from './turns.js';

export interface WindowStats {
  target: number;
  /** False when no complete turn reached the target context size. */
  reached: boolean;
  fromTurn?: number;
  toTurn?: number;
  meanContextTokens?: number;
  bytesPerTurn?: number;
  eventsPerTurn?: number;
}

/** Turns on either side of the centre that the averages include. */
const HALF_WIDTH = 2;

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;

/**
 * Average bytes and events per turn around a context size: centred on the first turn whose model
 * call saw at least `target` input tokens, two turns either side. The last turn of a history is
 * left out: it also holds the run's ending (result or termination), which no other turn carries.
 */
export function statsAround(turns: TurnRecord[], target: number): WindowStats {
  const complete = turns.slice(0, -1);
  const centre = complete.findIndex((t) => (t.contextTokens ?? 0) >= target);
  if (centre < 0) return { target, reached: false };
  const window = complete.slice(Math.max(0, centre - HALF_WIDTH), centre + HALF_WIDTH + 1);
  return {
    target,
    reached: true,
    fromTurn: window[0]!.turn,
    toTurn: window.at(-1)!.turn,
    meanContextTokens: Math.round(mean(window.map((t) => t.contextTokens ?? 0))),
    bytesPerTurn: Math.round(mean(window.map((t) => t.bytes))),
    eventsPerTurn: mean(window.map((t) => t.events)),
  };
}
