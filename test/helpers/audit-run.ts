import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { auditTask, writeAuditWorkspace } from '../../simulator/scenarios/audit.js';
import type { agentRun } from '../../workflows/agent.js';
import type { RunOptionsInput } from '../../workflows/options.js';
import type { Harness } from './harness.js';

export const TRIGGER = 50_000;

/** Starts an audit run of `n` files in a fresh workspace under the harness's directory. */
export async function startAudit(h: Harness, name: string, n: number, extra: Partial<RunOptionsInput> = {}) {
  const workspace = join(h.dir, name);
  await writeAuditWorkspace(workspace, n);
  const options: RunOptionsInput = {
    task: auditTask(n),
    workspace,
    model: 'sim-audit',
    maxTurns: n + 50,
    compaction: { trigger: TRIGGER },
    // The audit writes notes and a report; these runs are unattended.
    toolPolicies: { write_file: 'allow' },
    ...extra,
  };
  const handle = await h.env.client.workflow.start<typeof agentRun>('agentRun', {
    taskQueue: h.taskQueue,
    workflowId: `${name}-${Date.now()}`,
    args: [{ options }],
  });
  return { handle, workspace };
}

/** Lines of the effects journal: one per side effect actually performed. */
export async function effects(h: Harness): Promise<string[]> {
  const text = await readFile(join(h.storeDir, 'effects.log'), 'utf8').catch(() => '');
  return text.split('\n').filter(Boolean);
}
