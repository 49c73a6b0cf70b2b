import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { defineAgent } from '../../agents/define.js';
import { startRun } from '../../client/connect.js';
import type { RunOptionsInput } from '../../common/options.js';
import { writeAuditWorkspace } from '../../simulator/scenarios/audit.js';
import { rangedAuditTask, wideAuditTask } from '../../simulator/scenarios/wide-audit.js';
import { workspaceTools } from '../../tools/workspace-tools.js';
import { TRIGGER, type AuditTarget } from './audit-run.js';

/**
 * The wide audit's runs (simulator/scenarios/wide-audit.ts): the agent profile `auditor`, which
 * may delegate to itself, 8 children at once, and starts of its two forms: a parent with
 * sub-agents, and one agent reading the same number of files per reply.
 */

export const AUDITOR = 'auditor';
/** Files read per reply, by one agent and by each child alike. */
export const PER_REPLY = 10;

export const auditorAgent = defineAgent({
  name: AUDITOR,
  systemPrompt: 'You are a careful auditor working through the files of a workspace with tools.',
  tools: workspaceTools,
  // Unattended: the audit writes its notes and report without asking, and a cap stops a run.
  toolPolicies: { write_file: 'allow' },
  escalation: { onCap: 'stop' },
  compaction: { trigger: TRIGGER },
  // The 2,000-file report (12 KB) goes out twice in the last reply, to write_file and finish.
  maxOutputTokens: 16_000,
  delegation: { agents: [AUDITOR], maxAtOnce: 8 },
});

/** What worker-process.ts serves under LONGHAUL_TEST_AGENTS. */
export const agents = [auditorAgent];
/** This module's path, for harness.spawnWorker's `agents`. */
export const AGENTS_MODULE = fileURLToPath(import.meta.url);

async function start(target: AuditTarget, name: string, n: number, task: string, extra: Partial<RunOptionsInput>) {
  const workspace = join(target.dir, name);
  await writeAuditWorkspace(workspace, n);
  const handle = await startRun(
    target.client,
    { task, workspace, agent: AUDITOR, ...extra },
    { taskQueue: target.taskQueue, workflowId: `${name}-${Date.now()}` },
  );
  return { handle, workspace };
}

/** A parent that splits the `n` files among `children` sub-agents and merges their reports. */
export const startWideAudit = (
  target: AuditTarget,
  name: string,
  n: number,
  children: number,
  extra: Partial<RunOptionsInput> = {},
) => start(target, name, n, wideAuditTask({ n, children, agent: AUDITOR, perReply: PER_REPLY }), extra);

/** One agent over all `n` files, PER_REPLY a reply, writing report.md as the parent does. */
export const startBatchedAudit = (target: AuditTarget, name: string, n: number, extra: Partial<RunOptionsInput> = {}) =>
  start(
    target,
    name,
    n,
    rangedAuditTask({ n, from: 1, to: n, perReply: PER_REPLY, reportFile: 'report.md' }),
    // The one agent's run: no sub-agents.
    { maxTurns: Math.ceil(n / PER_REPLY) + 20, ...extra },
  );
