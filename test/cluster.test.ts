import { describe, expect, it } from 'vitest';
import type { HostLossOutcome } from './cluster/host-loss.js';
import { runScenario } from './cluster/run-scenario.js';

/**
 * Done-when 1 and 3 of issue 17: an audit on a real Temporal cluster (server 1.32.0 on
 * PostgreSQL, 2 history and 2 matching services) with its workers on 3 hosts (network, UTS and
 * pid namespaces) completes with the correct report and every side effect once, while whole hosts
 * are lost mid model call, each history and matching service is SIGKILLed and restarted, and
 * PostgreSQL is restarted. The scenario runs in a network namespace of its own
 * (test/cluster/host-loss.ts); recovery times are printed, and measured by `npm run bench:cluster`.
 */

describe('a self-hosted Temporal cluster, workers on 3 hosts', () => {
  it('an audit survives losing whole worker hosts, each history and matching service, and PostgreSQL', async () => {
    const outcome = await runScenario<HostLossOutcome>('host-loss', [
      '--files',
      '100',
      '--host-kills',
      '3',
      '--after-reply-kills',
      '2',
    ]);
    console.log(`[cluster] ${JSON.stringify(outcome.disruptions)}`);

    expect(outcome.status).toBe('completed');
    expect(outcome.reportCorrect).toBe(true);
    // Each write once: the kills come inside or just after model calls, never between a write and its record.
    expect(outcome.duplicateWrites).toEqual([]);
    expect(outcome.writes).toBe(outcome.expectedWrites);
    // Five hosts were lost (each the one running the run), and the run moved on each time.
    const lost = outcome.disruptions.filter((d) => d.host);
    expect(lost).toHaveLength(5);
    expect(outcome.hostsUsed.length).toBeGreaterThanOrEqual(2);
    // After every disruption the run completed another model call.
    expect(outcome.disruptions.map((d) => d.what)).toEqual([
      ...Array(3).fill('host lost in a model call'),
      ...Array(2).fill('host lost just after a model reply'),
      'history-1 SIGKILLed, started 1 s later',
      'history-2 SIGKILLed, started 1 s later',
      'matching-1 SIGKILLed, started 1 s later',
      'matching-2 SIGKILLed, started 1 s later',
      'PostgreSQL stopped (fast), started 1 s later',
    ]);
    expect(outcome.disruptions.every((d) => d.recoveryMs !== null)).toBe(true);
  }, 600_000);
});
