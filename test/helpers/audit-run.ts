import type { Client } from '@temporalio/client';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { auditTask, writeAuditWorkspace } from '../../simulator/scenarios/audit.js';
import { startRun } from '../../client/connect.js';
import type { RunOptionsInput } from '../../common/options.js';
import type { Harness } from './harness.js';

export const TRIGGER = 50_000;

/** Where an audit starts: a client and task queue, and a directory for its workspace. */
export interface AuditTarget {
  client: Client;
  taskQueue: string;
  dir: string;
}

/** Starts an audit run of `n` files in a fresh workspace under the target's directory. */
export async function startAuditOn(target: AuditTarget, name: string, n: number, extra: Partial<RunOptionsInput> = {}) {
  const workspace = join(target.dir, name);
  await writeAuditWorkspace(workspace, n);
  const options: RunOptionsInput = {
    task: auditTask(n),
    workspace,
    maxTurns: n + 50,
    compaction: { trigger: TRIGGER },
    // The audit writes notes and a report; these runs are unattended.
    toolPolicies: { write_file: 'allow' },
    ...extra,
  };
  const handle = await startRun(target.client, options, {
    taskQueue: target.taskQueue,
    workflowId: `${name}-${Date.now()}`,
  });
  return { handle, workspace };
}

/** Starts an audit on the harness's dev server and task queue. */
export const startAudit = (
  h: Pick<Harness, 'env' | 'taskQueue' | 'dir'>,
  name: string,
  n: number,
  extra: Partial<RunOptionsInput> = {},
) => startAuditOn({ client: h.env.client, taskQueue: h.taskQueue, dir: h.dir }, name, n, extra);

/** Lines of the effects journal: one per side effect actually performed. */
export async function effects(h: Pick<Harness, 'storeDir'>): Promise<string[]> {
  const text = await readFile(join(h.storeDir, 'effects.log'), 'utf8').catch(() => '');
  return text.split('\n').filter(Boolean);
}
