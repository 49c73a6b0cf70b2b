import { Client, Connection, type WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { randomUUID } from 'node:crypto';
import { encryptionDataConverter, loadKeyring, type Keyring } from '../config/codec.js';
import { temporalConnectionOptions } from '../config/connection.js';
import { readEnv, type EnvConfig } from '../config/env.js';
import { AGENT_RUN_WORKFLOW, type AgentRunWorkflow } from '../common/messages.js';
import { parseRunOptions, type RunOptionsInput } from '../common/options.js';
import { resolveWorkspace, WorkspaceRefusedError } from '../tools/workspace-roots.js';

/** A Temporal client configured from the environment, as the worker is (address, TLS, namespace, encryption). */
export async function connectClient(
  source: NodeJS.ProcessEnv = process.env,
): Promise<{ client: Client; connection: Connection; env: EnvConfig; keyring: Keyring | undefined }> {
  const env = readEnv(source);
  const keyring = loadKeyring(env);
  const connection = await Connection.connect(temporalConnectionOptions(env));
  const dataConverter = keyring ? { dataConverter: encryptionDataConverter(keyring) } : {};
  return {
    client: new Client({ connection, namespace: env.TEMPORAL_NAMESPACE, ...dataConverter }),
    connection,
    env,
    keyring,
  };
}

/** Options refused before anything is submitted; the message names every bad field on one line. */
export class RunOptionsError extends Error {}

export const newRunId = () => `longhaul-${new Date().toISOString().slice(0, 10)}-${randomUUID().slice(0, 8)}`;

/**
 * Submits a run. The options are checked here first, so a bad one submits nothing; they are sent
 * as given (not with defaults filled in), so that a named agent's defaults apply to what is unset.
 * The workspace's name is always checked (no `..`, `/`, /proc, /sys, /dev); given the workers'
 * `workspaceRoots` (a client with LONGHAUL_WORKSPACE_ROOTS, on the workers' file system), also
 * where it leads. The worker checks both again when the run starts.
 */
export async function startRun(
  client: Client,
  options: RunOptionsInput,
  where: { taskQueue: string; workflowId?: string; workspaceRoots?: readonly string[] | undefined },
): Promise<WorkflowHandleWithFirstExecutionRunId<AgentRunWorkflow>> {
  const checked = parseRunOptions(options);
  if (!checked.ok) throw new RunOptionsError(checked.error);
  if (where.workspaceRoots) {
    await resolveWorkspace(where.workspaceRoots, options.workspace).catch((err: unknown) => {
      throw err instanceof WorkspaceRefusedError ? new RunOptionsError(err.message) : err;
    });
  }
  return client.workflow.start<AgentRunWorkflow>(AGENT_RUN_WORKFLOW, {
    taskQueue: where.taskQueue,
    workflowId: where.workflowId ?? newRunId(),
    args: [{ options }],
  });
}
