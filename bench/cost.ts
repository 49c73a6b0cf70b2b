/**
 * Cost benchmark (`npm run bench:cost`, `--quick` for a smoke run): what the audit is billed for
 * input with prompt caching (a) off, (b) on with the state still in the system prompt, (c) as
 * shipped; for the 250-turn audit, the 1,000-turn audit, and a 250-turn audit that waits 30
 * minutes on a person midway (the simulator's clock moved while it waits). One dev server, one
 * simulator, one worker, in this process. Tables go to stdout, the same data to bench/results/.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { answer } from '../client/escalations.js';
import { awaitResult } from '../client/export.js';
import { cacheReadShare, type Counters } from '../common/counters.js';
import { progressQuery, type RunResult } from '../common/messages.js';
import { DEFAULT_MODEL, modelSpec, PRICES_READ_ON } from '../common/models.js';
import { RunOptions, type RunOptionsInput } from '../common/options.js';
import { ensureTemporalCli } from '../scripts/temporal-cli.mjs';
import { auditGroundTruth, auditReport } from '../simulator/scenarios/audit.js';
import { startAudit, TRIGGER } from '../test/helpers/audit-run.js';
import { startHarness, type Harness } from '../test/helpers/harness.js';
import { billedInputEquivalents } from './measure/billing.js';
import { log, UNATTENDED, type AuditHandle } from './perf/runs.js';
import { costReport, type CostRun, type CostScenario } from './report/cost-tables.js';
import { describeMachine } from './report/machine.js';
import { writeResults } from './report/results-file.js';

/** The three layouts compared: RunOptions.promptCache (common/options.ts). */
export const VARIANTS = [
  { variant: '(a) no caching', promptCache: 'off' },
  { variant: '(b) caching, state in the system prompt', promptCache: 'system-state' },
  { variant: '(c) longhaul as shipped', promptCache: 'on' },
] as const;

const PLANS = {
  full: { files: 249, longFiles: 999, waitMinutes: 30, deadlineMs: 20 * 60_000 },
  quick: { files: 49, longFiles: 99, waitMinutes: 30, deadlineMs: 5 * 60_000 },
};
type Plan = (typeof PLANS)[keyof typeof PLANS] & { mode: keyof typeof PLANS };

const MODEL = DEFAULT_MODEL;

/**
 * Each run's system prompt names it, so that no run reads what another wrote to the simulator's
 * cache: the real API's cache is shared the same way (per organization), but a bench run must pay
 * for its own prefix.
 */
const ownPrompt = (name: string) =>
  `${RunOptions.parse({ task: 'x', workspace: 'w' }).systemPrompt} (benchmark run ${name})`;

const optionsOf = (
  name: string,
  promptCache: RunOptions['promptCache'],
  extra: Partial<RunOptionsInput>,
): Partial<RunOptionsInput> => ({
  model: MODEL,
  systemPrompt: ownPrompt(name),
  compaction: { trigger: TRIGGER },
  promptCache,
  ...UNATTENDED,
  ...extra,
});

async function outcomeOf(handle: AuditHandle): Promise<{ outcome: string; result?: RunResult }> {
  try {
    const r = await awaitResult(handle);
    return { outcome: r.reason ? `${r.status}: ${r.reason}` : r.status, result: r };
  } catch (err) {
    return { outcome: `failed: ${(err as Error).message}` };
  }
}

function costRun(variant: string, files: number, outcome: string, result: RunResult | undefined, waited = 0): CostRun {
  const c: Counters | undefined = result?.counters;
  return {
    variant,
    outcome,
    correctReport: result?.report === auditReport(files, auditGroundTruth(files)),
    turns: c?.turn ?? 0,
    modelCalls: c?.modelCalls ?? 0,
    compactions: c?.compactions ?? 0,
    inputTokens: c?.inputTokens ?? 0,
    compactionInputTokens: c?.compactionInputTokens ?? 0,
    cacheWriteTokens: c?.cacheWriteTokens ?? 0,
    cacheWrite1hTokens: c?.cacheWrite1hTokens ?? 0,
    cacheReadTokens: c?.cacheReadTokens ?? 0,
    outputTokens: (c?.outputTokens ?? 0) + (c?.compactionOutputTokens ?? 0),
    billedInputEquivalents: c ? billedInputEquivalents(c) : 0,
    cacheReadShare: c ? cacheReadShare(c) : 0,
    usd: (c?.costNanos ?? 0) / 1e9,
    unpricedCalls: c?.unpricedCalls ?? 0,
    waitedMinutes: waited,
  };
}

/** The three variants of one audit at once (nothing moves the simulator's clock meanwhile). */
async function together(h: Harness, scenario: string, files: number, plan: Plan): Promise<CostRun[]> {
  log(`${scenario}: ${VARIANTS.length} audits of ${files} files at once`);
  const started = await Promise.all(
    VARIANTS.map((v, i) =>
      startAudit(h, `cost-${scenario}-${i}`, files, optionsOf(`${scenario}-${i}`, v.promptCache, {})),
    ),
  );
  const ended = await Promise.all(
    started.map(({ handle }) => withDeadline(handle, plan.deadlineMs).then(() => outcomeOf(handle))),
  );
  return VARIANTS.map((v, i) => costRun(v.variant, files, ended[i]!.outcome, ended[i]!.result));
}

async function withDeadline(handle: AuditHandle, deadlineMs: number): Promise<void> {
  const deadline = sleep(deadlineMs, 'deadline' as const, { ref: false });
  const done = await Promise.race([
    handle.result().then(
      () => 'done' as const,
      () => 'done' as const,
    ),
    deadline,
  ]);
  if (done === 'deadline') await handle.terminate('cost benchmark: deadline reached');
}

/** Moves the simulator's clock (the cache's TTLs run on it): its admin route, `POST /__sim/clock`. */
async function advanceSimulatorClock(h: Harness, ms: number): Promise<void> {
  const res = await fetch(`${h.simulator.url}/__sim/clock`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ advanceMs: ms }),
  });
  if (!res.ok) throw new Error(`the simulator refused to move its clock: ${res.status} ${await res.text()}`);
}

/**
 * One variant at a time (the clock is the whole simulator's): every write asks a person (tool
 * approval), who approves at once, except at the first question past the middle of the run, which
 * waits `waitMinutes` on the simulator's clock before the approval.
 */
async function waitingOnPerson(h: Harness, files: number, plan: Plan): Promise<CostRun[]> {
  const runs: CostRun[] = [];
  for (const [i, v] of VARIANTS.entries()) {
    log(`person: audit of ${files} files, ${v.variant}, waiting ${plan.waitMinutes} min midway`);
    const { handle } = await startAudit(
      h,
      `cost-wait-${i}`,
      files,
      optionsOf(`wait-${i}`, v.promptCache, { toolPolicies: { write_file: 'approve' } }),
    );
    let waited = 0;
    const end = Date.now() + plan.deadlineMs;
    let settled = false;
    const result = outcomeOf(handle).finally(() => (settled = true));
    while (!settled && Date.now() < end) {
      const p = await handle.query(progressQuery).catch(() => undefined);
      if (p?.escalation?.kind === 'tool_approval') {
        if (!waited && p.counters.turn >= (files + 1) / 2) {
          await advanceSimulatorClock(h, plan.waitMinutes * 60_000);
          waited = plan.waitMinutes;
          log(`person: waited ${waited} min at turn ${p.counters.turn}`);
        }
        await answer(h.env.client, handle.workflowId, 'approve', { escalationId: p.escalation.id }).catch(
          (err: unknown) => log(`person: approve refused (${String(err)})`),
        );
      }
      await sleep(50);
    }
    if (!settled) await handle.terminate('cost benchmark: deadline reached');
    const { outcome, result: r } = await result;
    runs.push(costRun(v.variant, files, outcome, r, waited));
  }
  return runs;
}

async function main(): Promise<void> {
  const mode = process.argv.includes('--quick') ? 'quick' : 'full';
  const plan: Plan = { ...PLANS[mode], mode };
  const started = Date.now();
  process.env.TEMPORAL_CLI = ensureTemporalCli(log);
  const h = await startHarness();
  try {
    const worker = await h.startWorker();
    const scenarios = await worker.runUntil(async (): Promise<CostScenario[]> => {
      const audit = await together(h, 'audit', plan.files, plan);
      const long = await together(h, 'long', plan.longFiles, plan);
      const wait = await waitingOnPerson(h, plan.files, plan);
      return [
        { scenario: `${plan.files + 1}-turn audit`, files: plan.files, runs: audit },
        { scenario: `${plan.longFiles + 1}-turn audit`, files: plan.longFiles, runs: long },
        {
          scenario: `${plan.files + 1}-turn audit, ${plan.waitMinutes} min on a person midway`,
          files: plan.files,
          runs: wait,
        },
      ];
    });
    const data = {
      date: new Date().toISOString(),
      seconds: Math.round((Date.now() - started) / 1000),
      machine: describeMachine(),
      mode,
      model: MODEL,
      price: modelSpec(MODEL)?.price ?? null,
      pricesReadOn: PRICES_READ_ON,
      trigger: TRIGGER,
      scenarios,
    };
    process.stdout.write(`${costReport(data)}\n`);
    log(`wrote ${await writeResults(mode === 'quick' ? 'cost-quick.json' : 'cost.json', data)}`);
  } finally {
    await h.close();
  }
}

await main();
