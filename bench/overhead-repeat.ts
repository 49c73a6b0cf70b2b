/**
 * The per-turn overhead measurement of bench/perf.ts, repeated on one dev server configured as
 * shipped: `npm run bench:overhead -- [RUNS]` (default 5). The overhead is a difference of two
 * medians, each noisy on a shared 2-core machine; this shows its spread. Prints a table, writes
 * bench/results/overhead-repeat.json.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { ensureTemporalCli } from '../scripts/temporal-cli.mjs';
import { startHarness } from '../test/helpers/harness.js';
import { writeWorkflowBundle } from '../worker/bundle.js';
import { harnessLane } from './perf/lanes.js';
import { measureOverhead } from './perf/overhead.js';
import { PERF_PLANS } from './perf/plan.js';
import { log } from './perf/runs.js';
import { describeMachine, machineLine } from './report/machine.js';

const runs = Number(process.argv[2] ?? 5);
if (!Number.isInteger(runs) || runs < 1)
  throw new Error(`RUNS must be a positive whole number, got ${process.argv[2]}`);
process.env.TEMPORAL_CLI = ensureTemporalCli(log);
process.env.LONGHAUL_WORKFLOW_BUNDLE = await writeWorkflowBundle();
const h = await startHarness({ dynamicConfig: { 'system.enableActivityEagerExecution': true } });
const results = [];
try {
  for (let i = 1; i <= runs; i++) results.push(await measureOverhead(harnessLane(h), PERF_PLANS.full, `repeat-${i}`));
} finally {
  await h.close();
}
const ms = (v: number) => `${v.toFixed(1)} ms`;
const rows = results.map(
  (r, i) =>
    `| ${i + 1} | ${ms(r.direct.turnMs.median)} | ${ms(r.longhaul.turnMs.median)} | ${ms(r.overheadMedianMs)} | ${ms(r.overheadMeanMs)} | ${r.direct.correctReport && r.longhaul.correctReport ? 'yes' : 'no'} |`,
);
const sorted = results.map((r) => r.overheadMedianMs).sort((a, b) => a - b);
process.stdout.write(
  [
    machineLine(describeMachine()),
    `overhead per turn, ${runs} runs of the ${PERF_PLANS.full.overheadFiles}-file audit, dev server as shipped (eager activities)`,
    '',
    '| run | plain loop turn median | longhaul turn median | overhead (median) | overhead (mean) | correct reports |',
    '| ---: | ---: | ---: | ---: | ---: | --- |',
    ...rows,
    '',
    `overhead (median) over the runs: min ${ms(sorted[0]!)}, median ${ms(sorted[Math.floor(sorted.length / 2)]!)}, max ${ms(sorted.at(-1)!)}`,
    '',
  ].join('\n'),
);
const dir = fileURLToPath(new URL('./results/', import.meta.url));
await mkdir(dir, { recursive: true });
await writeFile(
  join(dir, 'overhead-repeat.json'),
  `${JSON.stringify({ date: new Date().toISOString(), machine: describeMachine(), results }, null, 2)}\n`,
);
process.exit(0);
