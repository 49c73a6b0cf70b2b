import { patched } from '@temporalio/workflow';
import type { ModelCallInput, ModelCallResult } from '../common/contracts.js';
import { contextTokens, countModelCall, logCompaction } from '../common/counters.js';
import { cutText, FAILURE_CHARS } from '../common/input-bounds.js';
import { toolsToApprove, type RunOptions } from '../common/options.js';
import { callModel, compactTranscript } from './activities.js';
import type { RunMemory } from './memory.js';
import type { Run } from './run.js';
import { MAX_CONTINUATIONS } from './turn.js';

/** The input of a model call: the new user message goes with it, and everything else by reference once stored. */
export function modelCallInput(memory: RunMemory, options: RunOptions, workflowId: string): ModelCallInput {
  return {
    workflowId,
    turn: memory.counters.turn,
    model: options.model,
    maxOutputTokens: options.maxOutputTokens,
    instructions: memory.instructionsRef
      ? { ref: memory.instructionsRef }
      : { systemPrompt: options.systemPrompt, task: options.task },
    state: options.injectState ? { ref: memory.stateRef, updates: memory.stateUpdates } : null,
    compaction: options.compaction,
    head: memory.head,
    append: memory.nextUserMessage,
    ...(options.agent !== undefined ? { agent: options.agent } : {}),
    promptCache: options.promptCache,
    workspace: options.workspace,
    approveTools: toolsToApprove(options),
    // Absent without delegation, so the inputs of runs without it are as recorded.
    ...(options.delegation ? { delegation: { agents: options.delegation.agents } } : {}),
  };
}

/** Books a model call's reply: where the transcript and state now are, what it cost, what it said. */
export function bookModelCall(memory: RunMemory, reply: ModelCallResult): RunMemory {
  const counters = countModelCall(memory.counters, reply);
  return {
    ...memory,
    instructionsRef: reply.instructionsRef,
    stateRef: reply.stateRef,
    stateUpdates: [],
    head: reply.head,
    nextUserMessage: null,
    counters,
    compactions: logCompaction(memory.compactions, counters.turn, reply),
    lastText: reply.text || memory.lastText,
  };
}

/** A model call that failed for good (Temporal already retried what could be): one more failure in a row. */
export function countModelFailure(memory: RunMemory, message: string): RunMemory {
  return {
    ...memory,
    lastFailure: cutText(`model call: ${message}`, FAILURE_CHARS),
    counters: { ...memory.counters, failuresInRow: memory.counters.failuresInRow + 1 },
  };
}

/** Seconds to wait before the turn's model call is tried again; none once a person is to be asked. */
export function backoffSeconds(memory: RunMemory, options: RunOptions): number | null {
  const failures = memory.counters.failuresInRow;
  return failures < options.escalation.maxConsecutiveFailures ? 5 * failures : null;
}

/**
 * Whether the next call must be preceded by an on-demand compaction: behind an on-demand block the
 * API compacts nothing itself (the threshold edit cannot be sent with it), so longhaul keeps the
 * context near the trigger the way the edit would, once a call's context has crossed it.
 */
export function dueForOnDemandCompaction(reply: ModelCallResult, compaction: RunOptions['compaction']): boolean {
  return reply.onDemand === true && compaction.enabled && contextTokens(reply.usage) >= compaction.trigger;
}

async function callOnce(run: Run, activity: typeof callModel): Promise<ModelCallResult> {
  // The summary names the call in the Web UI's event list; it is metadata, not a command.
  const what = activity === callModel ? 'model call' : 'on-demand compaction';
  const summary = `${what}, turn ${run.memory.counters.turn}`;
  const reply = await activity.executeWithOptions({ summary, heartbeatTimeout: run.options.heartbeatTimeoutMs }, [
    modelCallInput(run.memory, run.options, run.workflowId),
  ]);
  run.memory = bookModelCall(run.memory, reply);
  if (run.patches.compactUnderTrigger)
    run.memory = { ...run.memory, compactOnDemand: dueForOnDemandCompaction(reply, run.options.compaction) };
  return reply;
}

/**
 * The turn's model call: after an on-demand compaction when the last call's context crossed the
 * trigger behind an on-demand block; continued while the reply is a pause (for compaction, or the
 * server's `pause_turn`); and, when the context outgrew the model's window (threshold compaction
 * off, or too late), compacted on demand and asked again, once. Throws the ActivityFailure of a
 * call that failed for good.
 */
export async function callModelForTurn(run: Run): Promise<ModelCallResult> {
  if (run.memory.compactOnDemand === true && run.patches.compactUnderTrigger) await callOnce(run, compactTranscript);
  let reply = await callOnce(run, callModel);
  for (
    let n = 0;
    (reply.stopReason === 'compaction' || reply.stopReason === 'pause_turn') && n < MAX_CONTINUATIONS;
    n++
  ) {
    reply = await callOnce(run, callModel);
  }
  if (reply.stopReason === 'model_context_window_exceeded' && patched('on-demand-compaction')) {
    await callOnce(run, compactTranscript);
    reply = await callOnce(run, callModel);
  }
  return reply;
}
