import {
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  ChildWorkflowCancellationType,
  ChildWorkflowFailure,
  condition,
  isCancellation,
  log,
  ParentClosePolicy,
  startChild,
  workflowInfo,
  TerminatedFailure,
  TimeoutFailure,
  type ChildWorkflowHandle,
} from '@temporalio/workflow';
import type { PendingBlock, ToolCall } from '../common/contracts.js';
import { initialCounters, withCounterDefaults, type Counters } from '../common/counters.js';
import {
  childEndText,
  childOptions,
  childWorkflowId,
  delegateTool,
  taskLine,
  type ChildRecord,
  type ChildStatus,
} from '../common/delegation.js';
import { cutText, INLINE_RESULT_CHARS } from '../common/input-bounds.js';
import { AGENT_RUN_WORKFLOW, stopSignal, type AgentRunWorkflow, type RunResult } from '../common/messages.js';
import { describeZodError, type RunOptionsInput } from '../common/options.js';
import { staticSummary } from '../common/web-ui.js';
import { storeResult } from './activities.js';
import { toolResult } from './blocks.js';
import type { Run } from './run.js';
import { publishMemo } from './visibility.js';

/** How a child ended, as its parent books it. */
interface ChildEnd {
  status: Exclude<ChildStatus, 'running'>;
  counters?: Counters;
  reason?: string;
  report?: string;
}

/**
 * Children started and not yet ended, per Temporal run: the slots of `maxAtOnce`. Not memory: a
 * run never continues as new while a reply's calls are in flight, and a replay counts them again.
 */
const atWork = new WeakMap<Run, number>();
const working = (run: Run) => atWork.get(run) ?? 0;

/**
 * A delegate call: starts a child agentRun (common/delegation.ts) and waits for its report. Several
 * may be in flight in one workflow (a reply's calls run at once), so each read-modify-write of the
 * memory below happens with no await inside it. A child that fails, stops or cannot start is a
 * tool error for the model, never a failed parent; a cancelled parent cancels its children and
 * waits for them to end.
 */
export async function runDelegate(run: Run, call: ToolCall): Promise<PendingBlock> {
  const parsed = delegateTool.input.safeParse(call.input);
  if (!parsed.success) return toolResult(call, `invalid delegate input: ${describeZodError(parsed.error)}`, true);
  const planned = childOptions(run.options, run.memory, parsed.data);
  if (!planned.ok) return toolResult(call, planned.error, true);
  const seq = (run.memory.childSeq ?? 0) + 1;
  const workflowId = childWorkflowId(run.workflowId, seq);
  const record: ChildRecord = {
    workflowId,
    toolUseId: call.id,
    agent: parsed.data.agent,
    task: taskLine(parsed.data.task),
    status: 'running',
    startedAt: new Date().toISOString(),
    counters: initialCounters(),
    ...(Object.keys(planned.given).length ? { given: planned.given } : {}),
  };
  run.memory = { ...run.memory, childSeq: seq, children: [...(run.memory.children ?? []), record] };
  // The memo lists the children (`longhaul list`, pending, the console), so it is written as each starts and ends.
  publishMemo(run);

  const end = await runChild(run, workflowId, planned.options);
  const ended = (c: ChildRecord): ChildRecord => ({
    ...c,
    status: end.status,
    ...(end.counters ? { counters: end.counters } : {}),
    ...(end.reason ? { reason: cutText(end.reason, 500) } : {}),
  });
  run.memory = {
    ...run.memory,
    children: (run.memory.children ?? []).map((c) => (c.workflowId === workflowId ? ended(c) : c)),
  };
  publishMemo(run);
  log.info('sub-agent ended', { turn: run.memory.counters.turn, child: workflowId, status: end.status });
  const text = childEndText(ended(record), end.report);
  if (text.content.length <= INLINE_RESULT_CHARS) return toolResult(call, text.content, text.isError);
  return storeResult({ toolUseId: call.id, content: text.content, ...(text.isError ? { isError: true } : {}) });
}

/** Waits for a slot, starts the child, and waits for its end, passing on a stop of the parent. */
async function runChild(run: Run, workflowId: string, options: RunOptionsInput): Promise<ChildEnd> {
  const { maxAtOnce } = run.options.delegation!;
  // The scope the call runs in: cancelled when Temporal cancels the parent.
  const scope = CancellationScope.current();
  // The slot is taken inside the predicate, where checking and taking cannot be split: several
  // waiting calls may be released in one activation, and each must see the others' slots.
  let slot = false;
  const takeSlot = () => {
    if (working(run) >= maxAtOnce) return false;
    atWork.set(run, working(run) + 1);
    return (slot = true);
  };
  await condition(() => run.memory.stopRequest !== undefined || takeSlot());
  if (!slot) return { status: 'stopped', reason: 'the parent was stopped before it started' };
  try {
    let handle: ChildWorkflowHandle<AgentRunWorkflow>;
    try {
      handle = await startChild<AgentRunWorkflow>(AGENT_RUN_WORKFLOW, {
        workflowId,
        args: [
          {
            options,
            parent: {
              workflowId: run.workflowId,
              depth: (run.parent?.depth ?? 0) + 1,
              workspace: run.options.workspace,
            },
          },
        ],
        // The parent's workflow-task timeout (RunOptions.workflowTaskTimeoutMs, set at its start).
        workflowTaskTimeout: workflowInfo().taskTimeoutMs,
        // A parent that ends (or is terminated) with children running asks them to cancel.
        parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
        // A cancelled parent waits until each child has ended as cancelled.
        cancellationType: ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED,
        staticSummary: staticSummary(options),
      });
    } catch (err) {
      if (isCancellation(err)) throw err;
      return { status: 'failed', reason: `it could not be started: ${firstLine(err)}` };
    }
    return await awaitChild(run, handle, scope);
  } finally {
    atWork.set(run, working(run) - 1);
  }
}

async function awaitChild(
  run: Run,
  handle: ChildWorkflowHandle<AgentRunWorkflow>,
  scope: CancellationScope,
): Promise<ChildEnd> {
  let outcome: { result: RunResult } | { error: unknown } | undefined;
  handle.result().then(
    (result) => (outcome = { result }),
    (error: unknown) => (outcome = { error }),
  );
  // Not cancellable: when the parent is cancelled, the child (started in the parent's scope) is
  // cancelled with it, and the parent waits here for it to end.
  await CancellationScope.nonCancellable(async () => {
    await condition(() => outcome !== undefined || run.memory.stopRequest !== undefined);
    if (outcome) return;
    const request = run.memory.stopRequest!;
    // The stopper, naming the parent: the child's reason says who stopped it, and through what.
    const by = cutText(`${request.by} (stopping ${run.workflowId})`, 199);
    await handle
      .signal(stopSignal, { by, ...(request.message ? { message: request.message } : {}) })
      .catch((err: unknown) =>
        log.info('stop signal not delivered', { child: handle.workflowId, error: firstLine(err) }),
      );
    await condition(() => outcome !== undefined);
  });
  if ('result' in outcome!) return resultEnd(outcome.result);
  const { error } = outcome!;
  if (isCancellation(error) && scope.consideredCancelled) throw error;
  return failureEnd(error);
}

function resultEnd(result: RunResult): ChildEnd {
  return {
    status: result.status === 'completed' ? 'completed' : 'stopped',
    counters: withCounterDefaults(result.totals ?? result.counters),
    ...(result.reason ? { reason: result.reason } : {}),
    ...(result.report !== undefined ? { report: result.report } : {}),
  };
}

/** A child that failed, was terminated, timed out or was cancelled (not by its parent's cancellation). */
function failureEnd(error: unknown): ChildEnd {
  if (!(error instanceof ChildWorkflowFailure)) throw error;
  const cause = error.cause;
  if (cause instanceof CancelledFailure) return { status: 'cancelled', reason: 'it was cancelled' };
  if (cause instanceof TerminatedFailure) return { status: 'failed', reason: 'it was terminated' };
  if (cause instanceof TimeoutFailure) return { status: 'failed', reason: 'it timed out' };
  // A failed run carries its result in the failure's details (workflows/agent.ts endRun).
  const result = cause instanceof ApplicationFailure ? (cause.details?.[0] as RunResult | undefined) : undefined;
  const counters = result?.totals ?? result?.counters;
  return {
    status: 'failed',
    reason: result?.reason ?? firstLine(cause ?? error),
    ...(counters ? { counters: withCounterDefaults(counters) } : {}),
  };
}

const firstLine = (err: unknown): string =>
  cutText(((err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '').trim(), 300);
