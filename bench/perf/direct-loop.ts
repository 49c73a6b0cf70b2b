import type Anthropic from '@anthropic-ai/sdk';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities } from '../../activities/index.js';
import { TEST_WORKER_DEFAULTS } from '../../test/helpers/test-worker.js';
import type { ModelCallInput, ModelCallResult, PendingBlock, ToolCall, ToolRunInput } from '../../common/contracts.js';
import type { BlobStore } from '../../store/blob-store.js';
import { countModelCall, initialCounters, type Counters } from '../../common/counters.js';
import { describeZodError, type RunOptions } from '../../common/options.js';
import { applyStateUpdate, initialState, summarizeState, type StateUpdate } from '../../common/state.js';
import { stateTools } from '../../common/state-tools.js';

// The same texts as workflows/agent.ts, so the model sees the same conversation.
const BEGIN = 'Begin the task described in the system prompt.';
const MAX_CONTINUATIONS = 4;

export interface DirectLoopResult {
  turns: number;
  counters: Counters;
  report: string | undefined;
  /** performance.now() at each completed model call, as the loop saw it. */
  modelCallCompletions: number[];
  seconds: number;
}

const toolResult = (call: ToolCall, content: string, isError = false): PendingBlock => ({
  type: 'tool_result',
  tool_use_id: call.id,
  content,
  ...(isError ? { is_error: true } : {}),
});

/**
 * The non-durable baseline: the same model and tool activities as longhaul (`createActivities`,
 * the real SDK, the transcript store), driven by a plain async loop in this process that mirrors
 * agentRun's turn (model call, continuations, state tools in the loop, other tools as `runTool`)
 * with no Temporal in between. The activities read `Context.current()`, so each call runs in a
 * MockActivityEnvironment. Every tool is allowed; caps, escalations and failures are left out:
 * the benchmark's audit never reaches them.
 */
export async function runDirectLoop(opts: {
  anthropic: Anthropic;
  store: BlobStore;
  options: RunOptions;
  workflowId: string;
}): Promise<DirectLoopResult> {
  const { options, workflowId } = opts;
  // As a test worker: workspaces under the temporary directory, writes allowed (the audit's runs allow them).
  const activities = createActivities({
    anthropic: opts.anthropic,
    store: opts.store,
    ...TEST_WORKER_DEFAULTS,
  });
  const env = new MockActivityEnvironment({
    activityType: 'callModel',
    workflowExecution: { workflowId, runId: 'direct' },
  });
  const started = performance.now();
  const completions: number[] = [];

  let state = initialState();
  let stateRef: ModelCallResult['stateRef'] = null;
  let stateUpdates: StateUpdate[] = [];
  let head: ModelCallResult['head'] | null = null;
  let instructionsRef: ModelCallResult['instructionsRef'] | null = null;
  let append: PendingBlock[] | null = [{ type: 'text', text: BEGIN }];
  let counters = initialCounters();
  let report: string | undefined;

  const ask = async (): Promise<ModelCallResult> => {
    const input: ModelCallInput = {
      workflowId,
      turn: counters.turn,
      model: options.model,
      maxOutputTokens: options.maxOutputTokens,
      instructions: instructionsRef
        ? { ref: instructionsRef }
        : { systemPrompt: options.systemPrompt, task: options.task },
      state: options.injectState ? { ref: stateRef, updates: stateUpdates } : null,
      compaction: options.compaction,
      head,
      append,
    };
    const reply: ModelCallResult = await env.run(activities.callModel, input);
    completions.push(performance.now());
    instructionsRef = reply.instructionsRef;
    stateRef = reply.stateRef;
    stateUpdates = [];
    head = reply.head;
    append = null;
    counters = countModelCall(counters, reply);
    return reply;
  };

  const runCall = async (call: ToolCall): Promise<PendingBlock> => {
    switch (call.name) {
      case 'update_state': {
        const update = stateTools.update_state.input.safeParse(call.input);
        if (!update.success)
          return toolResult(call, `invalid update_state input: ${describeZodError(update.error)}`, true);
        state = applyStateUpdate(state, update.data);
        stateUpdates = [...stateUpdates, update.data];
        return toolResult(call, `state updated: ${summarizeState(state)}`);
      }
      case 'finish': {
        const finish = stateTools.finish.input.safeParse(call.input);
        if (!finish.success) return toolResult(call, `invalid finish input: ${describeZodError(finish.error)}`, true);
        report = finish.data.report;
        return toolResult(call, 'run finished');
      }
      default:
        return env.run<[ToolRunInput], PendingBlock, typeof activities.runTool>(activities.runTool, {
          workflowId,
          turn: counters.turn,
          workspace: options.workspace,
          call,
        });
    }
  };

  while (report === undefined && counters.turn < options.maxTurns) {
    counters = { ...counters, turn: counters.turn + 1 };
    let reply = await ask();
    for (
      let n = 0;
      (reply.stopReason === 'compaction' || reply.stopReason === 'pause_turn') && n < MAX_CONTINUATIONS;
      n++
    )
      reply = await ask();
    if (reply.stopReason === 'model_context_window_exceeded') throw new Error('direct loop: context window exceeded');
    if (reply.toolCalls.length === 0) throw new Error(`direct loop: turn ${counters.turn} called no tool`);
    const results: PendingBlock[] = [];
    for (const call of reply.toolCalls) {
      results.push(
        report !== undefined ? toolResult(call, 'not run: the run had finished', true) : await runCall(call),
      );
    }
    append = results;
  }
  return {
    turns: counters.turn,
    counters,
    report,
    modelCallCompletions: completions,
    seconds: (performance.now() - started) / 1000,
  };
}
