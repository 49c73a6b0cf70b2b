import { ActivityFailure, isCancellation } from '@temporalio/workflow';
import type { PendingBlock, ToolCall, ToolRunInput } from '../common/contracts.js';
import { countToolResults } from '../common/counters.js';
import { cutText, FAILURE_CHARS } from '../common/input-bounds.js';
import type { Outcome } from '../common/escalation.js';
import { describeZodError, toolPolicy } from '../common/options.js';
import { applyStateUpdate, stateLimitError, summarizeState } from '../common/state.js';
import { isStateTool, stateTools } from '../common/state-tools.js';
import { DELEGATE_TOOL } from '../common/delegation.js';
import { runTool, runToolLocally } from './activities.js';
import { heldPlace, isHeld, type HeldPlace } from './call-plan.js';
import { CUT_OFF, isErrorResult, toolResult, withText } from './blocks.js';
import type { RunMemory } from './memory.js';
import { runDelegate } from './delegate.js';
import { askPerson } from './person.js';
import type { Run } from './run.js';

/** A tool call's result, or the outcome of a person's `stop` while it was asked about: the run ends. */
export type ToolCallResult = PendingBlock | Outcome;
export const isStop = (result: ToolCallResult): result is Outcome => !('type' in result);

/** Within a line of a person's question or the Web UI's event list: long inputs are cut. */
export const preview = (value: unknown, max = 500): string => cutText(JSON.stringify(value) ?? '', max);

/** update_state: the update as the model activity checked it (an agent's own lists), or as checked here. */
export function applyUpdateStateCall(memory: RunMemory, call: ToolCall): { memory: RunMemory; result: PendingBlock } {
  const parsed = call.stateUpdate ?? checkStateUpdate(call.input);
  if (!parsed.ok) return { memory, result: toolResult(call, `invalid update_state input: ${parsed.error}`, true) };
  const state = applyStateUpdate(memory.state, parsed.update);
  const over = stateLimitError(state);
  if (over) return { memory, result: toolResult(call, `update_state refused, the state is unchanged: ${over}`, true) };
  return {
    memory: { ...memory, state, stateUpdates: [...memory.stateUpdates, parsed.update] },
    result: toolResult(call, `state updated: ${summarizeState(state)}`),
  };
}

function checkStateUpdate(input: unknown): NonNullable<ToolCall['stateUpdate']> {
  const parsed = stateTools.update_state.input.safeParse(input);
  return parsed.success ? { ok: true, update: parsed.data } : { ok: false, error: describeZodError(parsed.error) };
}

/** finish: the report ends the run once the reply's other calls have their results. */
export function applyFinishCall(memory: RunMemory, call: ToolCall): { memory: RunMemory; result: PendingBlock } {
  const finish = stateTools.finish.input.safeParse(call.input);
  if (!finish.success)
    return { memory, result: toolResult(call, `invalid finish input: ${describeZodError(finish.error)}`, true) };
  return { memory: { ...memory, report: finish.data.report }, result: toolResult(call, 'run finished') };
}

/** What the model is told of a declined request: by a person, or by the timeout's default when nobody answered. */
const declined = (outcome: Outcome, what: string) =>
  outcome.by === 'timeout'
    ? `Nobody answered ${what} in time: ${outcome.message}`
    : `A person declined${what === 'your request' ? '' : ` ${what}`}: ${outcome.message ?? 'no reason given'}`;

/** What the model is told of a person's answer to its escalate_to_human. */
export function answerToModel(call: ToolCall, outcome: Outcome): PendingBlock {
  if (outcome.decision === 'deny') return toolResult(call, declined(outcome, 'your request'), true);
  if (outcome.decision === 'approve')
    return toolResult(call, `A person approved${outcome.message ? `: ${outcome.message}` : '.'}`);
  return toolResult(call, `A person replied: ${outcome.message}`);
}

/**
 * Books a call's result. Once the reply's last call has one, the results (and the cut-off note,
 * if the reply stopped at max_tokens) become the next user message, and the counters count them.
 */
export function recordToolResult(memory: RunMemory, call: ToolCall, result: PendingBlock): RunMemory {
  const toolResults = [...memory.toolResults, result];
  const toolCallsToRun = memory.toolCallsToRun.slice(1);
  const lastFailure = isErrorResult(result)
    ? cutText(`${call.name}: ${'content' in result ? result.content : 'see the transcript'}`, FAILURE_CHARS)
    : memory.lastFailure;
  if (toolCallsToRun.length) return { ...memory, toolResults, toolCallsToRun, lastFailure };
  return {
    ...memory,
    toolCallsToRun,
    lastFailure,
    counters: countToolResults(memory.counters, toolResults),
    nextUserMessage: memory.replyStoppedAtMaxTokens ? withText(toolResults, CUT_OFF) : toolResults,
    toolResults: [],
  };
}

/** What a person and the Web UI are shown of a call: its display line, or (runs recorded before it) a preview. */
export const describeCall = (call: ToolCall, max = 500): string =>
  call.display ?? `${call.name} ${preview(call.input, max)}`;

/**
 * What a person is asked of a held call: its line (with which of the reply's held calls it is, when
 * it held several), and below it what its tool says a person must see.
 */
export const approvalQuestion = (call: ToolCall, place?: HeldPlace): string =>
  `Approve ${describeCall(call)}?${place && place.total > 1 ? ` (call ${place.index} of ${place.total} held in this reply)` : ''}` +
  (call.approvalDetail ? `\n${call.approvalDetail}` : '');

/**
 * Which of the reply's held calls a person is asked about, when it held several (parallel-tool-calls
 * patch): each is asked alone, in the reply's order, with the results of the calls before it in place.
 */
function heldQuestion(run: Run, call: ToolCall): string {
  if (!run.patches.parallelToolCalls) return approvalQuestion(call);
  const { toolCallsToRun, toolResults, escalations } = run.memory;
  return approvalQuestion(call, heldPlace(toolCallsToRun, toolResults, escalations, run.options));
}

/**
 * Runs calls of the reply at the same time (they are concurrent-safe: call-plan.ts), at most
 * `maxParallelToolCalls` at once: that many lanes, each taking the next call when its last is done.
 * The results are in the order of the calls.
 */
export async function runToolCalls(run: Run, calls: readonly ToolCall[]): Promise<ToolCallResult[]> {
  const first = run.memory.toolResults.length;
  const results: ToolCallResult[] = [];
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < calls.length) {
      const i = next++;
      results[i] = await runToolCall(run, calls[i]!, first + i);
    }
  };
  const lanes = Math.min(run.options.maxParallelToolCalls, calls.length);
  await Promise.all(Array.from({ length: lanes }, lane));
  return results;
}

/**
 * Runs one tool call under its policy: state tools here in the workflow, the rest as an activity.
 * `position` is the call's index in its reply (part of its idempotency key).
 */
export async function runToolCall(
  run: Run,
  call: ToolCall,
  position = run.memory.toolResults.length,
): Promise<ToolCallResult> {
  if (run.memory.report !== undefined) return toolResult(call, 'not run: the run had finished', true);
  // Refused by the model call (an input nested too deep, too many calls): never run, never asked about.
  if (call.inputError !== undefined) return toolResult(call, call.inputError, true);
  const policy = isStateTool(call.name) ? 'allow' : toolPolicy(run.options, call.name);
  if (policy === 'deny') return toolResult(call, `${call.name} is not allowed in this run`, true);
  // The worker runs a call whose ceiling is `approve` only with the approving escalation's id, or
  // when its tool says the call needs no person (decided by the model activity: ToolCall.needsApproval).
  let approvedBy: string | undefined;
  // The detail is for a person: the question carries it, not the held call nor the tool's input.
  const { approvalDetail: _, ...held } = call;
  if (isHeld(call, run.options)) {
    const outcome = await askPerson(run, {
      kind: 'tool_approval',
      reason: `the model wants to run ${call.name}`,
      question: heldQuestion(run, call),
      heldToolCall: held,
    });
    if (outcome.decision === 'stop') return outcome;
    if (outcome.decision !== 'approve') return toolResult(call, declined(outcome, `this ${call.name} call`), true);
    approvedBy = run.memory.escalations.at(-1)?.id;
  }
  switch (call.name) {
    case 'update_state':
    case 'finish': {
      const applied = (call.name === 'finish' ? applyFinishCall : applyUpdateStateCall)(run.memory, call);
      run.memory = applied.memory;
      return applied.result;
    }
    case 'escalate_to_human': {
      const request = stateTools.escalate_to_human.input.safeParse(call.input);
      if (!request.success)
        return toolResult(call, `invalid escalate_to_human input: ${describeZodError(request.error)}`, true);
      const outcome = await askPerson(run, { kind: 'model_request', ...request.data });
      return outcome.decision === 'stop' ? outcome : answerToModel(call, outcome);
    }
    case DELEGATE_TOOL:
      // Only a run with delegation options is offered it; for any other the call is an unknown tool's.
      if (run.options.delegation) return runDelegate(run, call);
    // falls through
    default: {
      // Which calls change nothing is the worker's knowledge, recorded in the model call's result.
      const { workflowId, chainId, options } = run;
      const summary = call.display === undefined ? describeCall(call, 80) : cutText(call.display, 120);
      // A local activity has no heartbeat (the workflow task's own timeout covers it).
      const execute = call.sideEffectFree
        ? (input: ToolRunInput) => runToolLocally.executeWithOptions({ summary }, [input])
        : (input: ToolRunInput) =>
            runTool.executeWithOptions({ summary, heartbeatTimeout: options.heartbeatTimeoutMs }, [input]);
      try {
        return await execute({
          workflowId,
          turn: run.memory.counters.turn,
          workspace: options.workspace,
          call: held,
          chainId,
          position,
          ...(options.agent !== undefined ? { agent: options.agent } : {}),
          ...(approvedBy !== undefined ? { approvedBy } : {}),
        });
      } catch (err) {
        // Retries exhausted, non-retryable or timed out: the model hears of it and the failure counter
        // counts it. Runs recorded before the patch replay as they ran (run.ts, runPatches).
        if (!(err instanceof ActivityFailure) || isCancellation(err) || !run.patches.toolFailureIsToolError) throw err;
        return toolResult(call, toolFailed(call, err), true);
      }
    }
  }
}

/** An absolute path on the worker (the store's, a tool's) in an error, not a URL's path. */
const WORKER_PATH = /(?<![\w:/.~-])\/[^\s'"`,;)]+/g;

/**
 * What the model is told of a tool activity that failed for good; a side-effecting call may have
 * acted. The cause's first line, without the worker's own paths: those are not the model's to see.
 */
export function toolFailed(call: ToolCall, err: ActivityFailure): string {
  const cause = (err.cause?.message ?? err.message).split('\n')[0]!.replace(WORKER_PATH, '<worker path>').slice(0, 300);
  const effect = call.sideEffectFree
    ? ''
    : ': it may or may not have taken effect; check whether it did before calling it again';
  return `${call.name} could not be run (the worker gave up: ${cause})${effect}`;
}
