import { Client, Connection, type WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { randomUUID } from 'node:crypto';
import { encryptionDataConverter, loadKeyring, type Keyring } from '../config/codec.js';
import { temporalConnectionOptions } from '../config/connection.js';
import { readEnv, type EnvConfig } from '../config/env.js';
import { AGENT_RUN_WORKFLOW, type AgentRunWorkflow } from '../common/messages.js';
import { parseRunOptions, type RunOptionsInput } from '../common/options.js';
import { staticDetails, staticSummary } from '../common/web-ui.js';
import { resolveWorkspace, WorkspaceRefusedError } from '../tools/workspace-roots.js';

/** A server that answers does so well within this, even across the internet (the SDK's default is 10 s). */
const CONNECT_TIMEOUT_MS = 5_000;

/** A Temporal client configured from the environment, as the worker is (address, TLS, namespace, encryption). */
export async function connectClient(
  source: NodeJS.ProcessEnv = process.env,
): Promise<{ client: Client; connection: Connection; env: EnvConfig; keyring: Keyring | undefined }> {
  const env = readEnv(source);
  const keyring = loadKeyring(env);
  const connection = await Connection.connect({
    ...temporalConnectionOptions(env),
    connectTimeout: CONNECT_TIMEOUT_MS,
  }).catch((err: Error & { cause?: Error }) => {
    const why = (err.cause?.message ?? err.message).split('\n')[0];
    throw new Error(
      `cannot reach Temporal at ${env.TEMPORAL_ADDRESS} (TEMPORAL_ADDRESS) within ${CONNECT_TIMEOUT_MS / 1000} s: ${why}; check that the server runs there and that TEMPORAL_ADDRESS, TEMPORAL_TLS and TEMPORAL_API_KEY fit it`,
    );
  });
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

/**
 * A run id: letters, digits and `.`, `_`, `-`, `:`, `@`, starting with a letter or digit, at most
 * 200 characters. Nothing that a terminal, a log line or the `/`-separated idempotency keys would
 * read otherwise (control characters, spaces, `/`).
 */
const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,199}$/;

/** Why `id` cannot be a run id, or null if it can. */
export function runIdProblem(id: string): string | null {
  if (RUN_ID.test(id)) return null;
  return `run id ${JSON.stringify(id.slice(0, 60))} must be 1 to 200 letters, digits, ., _, -, : or @, starting with a letter or digit`;
}

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
  const idProblem = where.workflowId === undefined ? null : runIdProblem(where.workflowId);
  if (idProblem) throw new RunOptionsError(idProblem);
  if (where.workspaceRoots) {
    await resolveWorkspace(where.workspaceRoots, options.workspace).catch((err: unknown) => {
      throw err instanceof WorkspaceRefusedError ? new RunOptionsError(err.message) : err;
    });
  }
  return client.workflow.start<AgentRunWorkflow>(AGENT_RUN_WORKFLOW, {
    taskQueue: where.taskQueue,
    workflowId: where.workflowId ?? newRunId(),
    args: [{ options }],
    // RunOptions.workflowTaskTimeoutMs: what a worker lost inside one of the run's workflow tasks costs.
    workflowTaskTimeout: checked.options.workflowTaskTimeoutMs,
    // What the Web UI shows of the run before any query: its agent and task, its caps.
    staticSummary: staticSummary(options),
    staticDetails: staticDetails(options, checked.options),
  });
}
