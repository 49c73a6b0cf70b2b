import { describe, expect, it } from 'vitest';
import { heartbeatEveryMs } from '../../activities/heartbeat.js';

describe('heartbeatEveryMs', () => {
  it('beats every fifth of the heartbeat timeout, at most every second', () => {
    expect(heartbeatEveryMs(5_000)).toBe(1_000);
    expect(heartbeatEveryMs(60_000)).toBe(1_000);
    expect(heartbeatEveryMs(2_000)).toBe(400);
    // No timeout known (a caller outside an activity's options): the default's cadence.
    expect(heartbeatEveryMs(undefined)).toBe(1_000);
  });
});
