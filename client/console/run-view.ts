/**
 * What the console shows of one run. Visibility (the memo) and the store answer without a worker;
 * the `progress` and `state` queries need one, so each is asked with a short deadline and the
 * page says which figures came from where.
 */
import type { Client, WorkflowHandle } from '@temporalio/client';
import { ALLOWED, type Escalation } from '../../common/escalation.js';
import {
  progressQuery,
  stateQuery,
  type AgentRunWorkflow,
  type Progress,
  type RunMemo,
  type RunResult,
} from '../../common/messages.js';
import type { AgentState } from '../../common/state.js';
import type { BlobStore } from '../../store/index.js';
import { awaitResult } from '../export.js';
import { listReadablePage, type ListedRun } from '../listing.js';
import { askWorker } from '../status.js';

/** A worker answers a query in milliseconds; past this, none is polling the run's task queue. */
const QUERY_DEADLINE_MS = 2_000;
export const NO_WORKER = 'no worker is polling: live figures from the memo; answering needs a worker';

const quote = (id: string) => `'${id.replace(/[\\']/g, '\\$&')}'`;

/** Every Temporal run of the workflow `id`, newest (the chain's live end) first. */
export async function chainRuns(client: Client, id: string): Promise<ListedRun[]> {
  const { runs } = await listReadablePage(client, `WorkflowId = ${quote(id)}`, { pageSize: 1000 });
  return runs;
}

/** The live figures: the `progress` query when a worker answers, else the memo with the reason. */
export interface Live {
  temporalStatus: string;
  source: 'query' | 'memo';
  note?: string;
  progress?: Progress;
  memo?: RunMemo;
  /** The open escalation (the memo's short form when no worker answers) and the decisions it takes. */
  escalation?: (Escalation | NonNullable<RunMemo['escalation']>) & { decisions: readonly string[] };
}

/** A worker's answer to a query, or undefined when none answers in time (or the run is gone). */
export async function query<T>(client: Client, fn: () => Promise<T>): Promise<T | undefined> {
  const asked = await askWorker(client, fn, QUERY_DEADLINE_MS).catch(() => undefined);
  return asked?.ok ? asked.value : undefined;
}

export async function liveView(client: Client, run: ListedRun): Promise<Live> {
  const handle: WorkflowHandle<AgentRunWorkflow> = client.workflow.getHandle(run.workflowId);
  const base = { temporalStatus: run.temporalStatus, ...(run.memo ? { memo: run.memo } : {}) };
  const progress = run.unreadable ? undefined : await query(client, () => handle.query(progressQuery));
  const open = progress ? progress.escalation : run.memo?.escalation;
  const escalation = open ? { escalation: { ...open, decisions: ALLOWED[open.kind] } } : {};
  if (progress) return { ...base, source: 'query', progress, ...escalation };
  return { ...base, source: 'memo', ...(run.temporalStatus === 'RUNNING' ? { note: NO_WORKER } : {}), ...escalation };
}

/** A closed run's result (also a failed run's), which Temporal keeps with no worker. */
export async function closedResult(client: Client, run: ListedRun): Promise<RunResult | undefined> {
  if (run.temporalStatus === 'RUNNING' || run.unreadable) return undefined;
  return awaitResult(client.workflow.getHandle<AgentRunWorkflow>(run.workflowId)).catch(() => undefined);
}

export async function runState(
  client: Client,
  run: ListedRun,
  result: RunResult | undefined,
): Promise<AgentState | undefined> {
  if (result) return result.state;
  if (run.unreadable) return undefined;
  return query(client, () => client.workflow.getHandle<AgentRunWorkflow>(run.workflowId).query(stateQuery));
}

/** The held call's whole input: inline in the escalation, or in the store when it was large. */
export async function heldInput(store: BlobStore, escalation: Escalation | undefined): Promise<unknown> {
  const call = escalation?.heldToolCall;
  if (!call) return undefined;
  return call.inputRef ? (JSON.parse(await store.get(call.inputRef)) as unknown) : call.input;
}
