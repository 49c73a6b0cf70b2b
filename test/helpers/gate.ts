import { setTimeout as sleep } from 'node:timers/promises';
import type { Simulator } from '../../simulator/server.js';

/**
 * A point a run cannot pass until the test opens it: the simulator answers the next `pass` model
 * requests and holds the one after. A test that acts "at turn N" waits here on the run's own
 * requests, so a fast run cannot be past N (or finished) by then. Nothing else may be queued on
 * the simulator meanwhile.
 */
export function holdAfter(sim: Simulator, pass: number) {
  const base = sim.stats().faultsServed;
  sim.injectFaults([
    ...(pass > 0 ? [{ match: 'messages' as const, times: pass }] : []),
    { match: 'messages', hold: true },
  ]);
  const served = async (n: number) => {
    while (sim.stats().faultsServed < base + n) await sleep(20);
  };
  return {
    /** Once the last request let through has arrived: the run is in that model call or what follows it. */
    passed: () => served(pass),
    /** Once the held request has arrived: the run waits in that model call. */
    holding: () => served(pass + 1),
    /** Answers the held request (to a worker still there) and drops the gate if it was not reached. */
    open: () => sim.release(),
  };
}
