import { ApplicationFailure, log, proxyActivities, setHandler, workflowInfo, ActivityFailure } from '@temporalio/workflow';
import type { Activities, ModelTurn, PendingBlock, ToolCall } from '../activities/index.js';
import { countModelCall, countToolResults, initialCounters, logCompaction, type CompactionEntry } from './counters.js';
import { progressQuery, stateQuery, type Progress, type RunResult, type RunStatus } from './messages.js';
import { describeZodError, RunOptions, type RunOptionsInput } from './options.js';
import { applyStateUpdate, initialState, summarizeState, type AgentState } from './state.js';
import { isStateTool, stateTools } from './state-tools.js';

// All activity options in one place. Model calls stream and heartbeat, so a dead worker is noticed
// within the heartbeat timeout rather than after the whole call's budget.
const { callModel } = proxyActivities<Activities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '10 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 12 },
});
const { runTool } = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '10 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 8 },
});

export interface AgentRunInput {
  options: RunOptionsInput;
}

/** At most this many calls continue one turn after `compaction` or `pause_turn` stops. */
const MAX_CONTINUATIONS = 4;
const BEGIN = 'Begin the task described in the system prompt.';
const NUDGE = 'Continue the task with your tools. When it is complete, call finish with your report.';
const CUT_OFF = 'Your reply was cut off at the output token limit; keep each reply shorter.';

export async function agentRun(input: AgentRunInput): Promise<RunResult> {
  const parsed = RunOptions.safeParse(input.options);
  if (!parsed.success) {
    throw ApplicationFailure.nonRetryable(`invalid run options: ${describeZodError(parsed.error)}`, 'InvalidRunOptions');
  }
  const options = parsed.data;
  const { workflowId } = workflowInfo();

  let state: AgentState = initialState();
  let counters = initialCounters();
  let compactions: CompactionEntry[] = [];
  let status: RunStatus = 'running';
  let lastText = '';
  let report: string | undefined;
  let reason: string | undefined;
  let head: ModelTurn['head'] | null = null;
  let instructions: Parameters<Activities['callModel']>[0]['instructions'] = {
    systemPrompt: options.systemPrompt,
    task: options.task,
  };
  let append: PendingBlock[] | null = [{ type: 'text', text: BEGIN }];

  setHandler(progressQuery, (): Progress => ({
    status,
    counters,
    maxTurns: options.maxTurns,
    compactions,
    lastText,
    ...(reason ? { reason } : {}),
    ...(report ? { report } : {}),
  }));
  setHandler(stateQuery, () => state);

  const ask = async (): Promise<ModelTurn> => {
    const reply = await callModel({
      workflowId,
      turn: counters.turn,
      model: options.model,
      maxOutputTokens: options.maxOutputTokens,
      instructions,
      state: options.injectState ? state : null,
      compaction: options.compaction,
      head,
      append,
    });
    instructions = { ref: reply.instructionsRef };
    head = reply.head;
    append = null;
    counters = countModelCall(counters, reply);
    compactions = logCompaction(compactions, counters.turn, reply);
    if (reply.text) lastText = reply.text;
    return reply;
  };

  /** Runs one tool call; state tools run here, the rest as an activity with an idempotency key. */
  const runCall = async (call: ToolCall): Promise<PendingBlock> => {
    const result = (content: string, isError = false): PendingBlock => ({
      type: 'tool_result',
      tool_use_id: call.id,
      content,
      ...(isError ? { is_error: true } : {}),
    });
    if (!isStateTool(call.name)) {
      return runTool({ workflowId, turn: counters.turn, workspace: options.workspace, call });
    }
    if (call.name === 'update_state') {
      const update = stateTools.update_state.input.safeParse(call.input);
      if (!update.success) return result(`invalid update_state input: ${describeZodError(update.error)}`, true);
      state = applyStateUpdate(state, update.data);
      return result(`state updated: ${summarizeState(state)}`);
    }
    const finish = stateTools.finish.input.safeParse(call.input);
    if (!finish.success) return result(`invalid finish input: ${describeZodError(finish.error)}`, true);
    report = finish.data.report;
    return result('run finished');
  };

  const end = (final: RunResult['status'], why?: string): RunResult => {
    status = final;
    reason = why;
    log.info('run ended', { status, reason, turns: counters.turn });
    const result: RunResult = { status: final, counters, compactions, state, ...(report ? { report } : {}), ...(why ? { reason: why } : {}) };
    if (final === 'failed') throw ApplicationFailure.nonRetryable(`run failed: ${why}`, 'RunFailed', result);
    return result;
  };

  for (;;) {
    if (counters.turn >= options.maxTurns) return end('stopped', `turn cap of ${options.maxTurns} reached`);
    counters = { ...counters, turn: counters.turn + 1 };

    let reply: ModelTurn;
    try {
      reply = await ask();
      // A pause for compaction, or a server-side pause, hands the turn back unfinished: go on.
      for (let n = 0; (reply.stopReason === 'compaction' || reply.stopReason === 'pause_turn') && n < MAX_CONTINUATIONS; n++) {
        reply = await ask();
      }
    } catch (err) {
      if (err instanceof ActivityFailure) return end('failed', `model call failed: ${err.cause?.message ?? err.message}`);
      throw err;
    }

    switch (reply.stopReason) {
      case 'tool_use':
      case 'end_turn':
      case 'stop_sequence':
      case 'max_tokens':
        break;
      case 'refusal':
        return end('failed', 'the model refused to continue');
      case 'model_context_window_exceeded':
        return end('failed', 'the context window was exceeded; lower the compaction trigger');
      default:
        return end('failed', `unexpected stop reason ${JSON.stringify(reply.stopReason)}`);
    }

    if (reply.toolCalls.length === 0) {
      counters = { ...counters, idleReplies: counters.idleReplies + 1 };
      if (counters.idleReplies >= options.maxIdleReplies) {
        return end('stopped', `the model replied ${counters.idleReplies} times in a row without using a tool`);
      }
      append = [{ type: 'text', text: reply.stopReason === 'max_tokens' ? CUT_OFF : NUDGE }];
      continue;
    }
    counters = { ...counters, idleReplies: 0 };

    // Every tool_use gets its tool_result, in order, even those after `finish` (never orphaned).
    const results: PendingBlock[] = [];
    for (const call of reply.toolCalls) {
      results.push(
        report === undefined
          ? await runCall(call)
          : { type: 'tool_result', tool_use_id: call.id, content: 'not run: the run had finished', is_error: true },
      );
    }
    counters = countToolResults(counters, results);
    if (report !== undefined) return end('completed');
    append = reply.stopReason === 'max_tokens' ? [...results, { type: 'text', text: CUT_OFF }] : results;
  }
}
