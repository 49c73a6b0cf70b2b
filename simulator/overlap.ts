import { setTimeout as sleep } from 'node:timers/promises';

/**
 * A probe for tools that should run at the same time: `GET /__sim/hold?key=K&ms=N` answers after
 * N ms, and `GET /__sim/overlap?key=K` tells how many holds of K were in flight at once at most,
 * with each hold's window. A test's tool calls the first; the test reads the second.
 */

export interface HoldWindow {
  /** The hold's label (`label=` in its query), or its number under its key. */
  label: string;
  startMs: number;
  endMs: number | null;
}

export interface Overlap {
  windows: HoldWindow[];
  /** The most holds of the key in flight at once. */
  maxInFlight: number;
  inFlight: number;
}

/** A hold may last this long at most: a probe, not a way to hang the simulator. */
export const MAX_HOLD_MS = 60_000;

export class OverlapProbe {
  private readonly keys = new Map<string, Overlap>();

  async hold(key: string, ms: number, label?: string): Promise<HoldWindow> {
    const overlap = this.of(key);
    const window: HoldWindow = { label: label ?? String(overlap.windows.length + 1), startMs: Date.now(), endMs: null };
    overlap.windows.push(window);
    overlap.inFlight++;
    overlap.maxInFlight = Math.max(overlap.maxInFlight, overlap.inFlight);
    try {
      await sleep(ms);
    } finally {
      overlap.inFlight--;
      window.endMs = Date.now();
    }
    return window;
  }

  overlap(key: string): Overlap {
    const { windows, maxInFlight, inFlight } = this.of(key);
    return { windows: windows.map((w) => ({ ...w })), maxInFlight, inFlight };
  }

  private of(key: string): Overlap {
    let overlap = this.keys.get(key);
    if (!overlap) this.keys.set(key, (overlap = { windows: [], maxInFlight: 0, inFlight: 0 }));
    return overlap;
  }
}

/** The key and duration of a hold request, or why it is not one. */
export function holdQuery(params: URLSearchParams): { key: string; ms: number; label?: string } | string {
  const key = params.get('key');
  if (!key) return 'hold: key= is missing';
  const ms = Number(params.get('ms') ?? '0');
  if (!Number.isInteger(ms) || ms < 0 || ms > MAX_HOLD_MS)
    return `hold: ms= must be an integer from 0 to ${MAX_HOLD_MS}`;
  const label = params.get('label');
  return { key, ms, ...(label ? { label } : {}) };
}
