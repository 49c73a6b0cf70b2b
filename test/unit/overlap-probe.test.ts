import { describe, expect, it } from 'vitest';
import { holdQuery, MAX_HOLD_MS, OverlapProbe } from '../../simulator/overlap.js';

describe("the simulator's hold probe", () => {
  it('counts the holds of a key in flight at once, apart from other keys', async () => {
    const probe = new OverlapProbe();
    await Promise.all([probe.hold('k', 20, 'a'), probe.hold('k', 10, 'b'), probe.hold('other', 0)]);
    await probe.hold('k', 0, 'c');
    const { windows, maxInFlight, inFlight } = probe.overlap('k');
    expect({ maxInFlight, inFlight, labels: windows.map((w) => w.label) }).toEqual({
      maxInFlight: 2,
      inFlight: 0,
      labels: ['a', 'b', 'c'],
    });
    expect(windows.every((w) => w.endMs !== null && w.endMs >= w.startMs)).toBe(true);
    expect(probe.overlap('other')).toMatchObject({ maxInFlight: 1, windows: [{ label: '1' }] });
    expect(probe.overlap('never')).toEqual({ windows: [], maxInFlight: 0, inFlight: 0 });
  });

  it('a hold query names its key and a duration within bounds; bad ones get a one-line error', () => {
    expect(holdQuery(new URLSearchParams('key=k&ms=5&label=a'))).toEqual({ key: 'k', ms: 5, label: 'a' });
    expect(holdQuery(new URLSearchParams('ms=5'))).toBe('hold: key= is missing');
    for (const ms of ['-1', '1.5', 'x', String(MAX_HOLD_MS + 1)])
      expect(holdQuery(new URLSearchParams(`key=k&ms=${ms}`))).toBe(
        `hold: ms= must be an integer from 0 to ${MAX_HOLD_MS}`,
      );
  });
});
