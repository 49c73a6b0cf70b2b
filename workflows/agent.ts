import { ApplicationFailure, log, TemporalFailure, workflowInfo } from '@temporalio/workflow';
import type { AgentRunInput, RunResult } from '../common/messages.js';
import { describeZodError, RunOptions, withAgentDefaults, type RunOptionsInput } from '../common/options.js';
import { agentProfile, loadState } from './activities.js';
import type { CarriedMemory } from '../common/carried-memory.js';
import { applyStateUpdate } from '../common/state.js';
import { installHandlers } from './handlers.js';
import { freshMemory, fromCarried, type CarriedWithState } from './memory.js';
import { nextStep } from './next-step.js';
import { runResult, type Run, type RunEnd } from './run.js';
import { takeStep } from './steps.js';
import { setStatus } from './visibility.js';

/**
 * One run of an agent: a thin loop that takes the step its memory names (next-step.ts) until the
 * run ends. A chain of Temporal runs (continue-as-new) carries the memory from one to the next.
 */
export async function agentRun(input: AgentRunInput): Promise<RunResult> {
  const resolvedOptions = await resolveOptions(input);
  const parsed = RunOptions.safeParse(resolvedOptions);
  if (!parsed.success) throw invalidOptions(describeZodError(parsed.error));
  const options = parsed.data;
  const memory = input.memory ? fromCarried(await withState(input.memory)) : freshMemory(options);
  const run: Run = {
    options,
    resolvedOptions,
    workflowId: workflowInfo().workflowId,
    chainId: workflowInfo().firstExecutionRunId,
    memory,
    status: memory.openEscalation ? 'awaiting_human' : 'running',
    reason: undefined,
    answer: null,
  };
  installHandlers(run);
  setStatus(run, run.status, memory.openEscalation?.kind ?? null);
  for (;;) {
    const step = nextStep(run.memory, options, { continueAsNewSuggested: workflowInfo().continueAsNewSuggested });
    const end = await takeStep(run, step);
    if (end) return endRun(run, end);
  }
}

/** The carried memory with its state: read back (the stored state plus the updates since) when carried by reference. */
async function withState(carried: CarriedMemory): Promise<CarriedWithState> {
  if (carried.state) return { ...carried, state: carried.state };
  if (!carried.stateRef)
    throw ApplicationFailure.nonRetryable('the carried memory has neither a state nor its reference');
  const stored = await loadState(carried.stateRef);
  return { ...carried, state: carried.stateUpdates.reduce(applyStateUpdate, stored) };
}

const invalidOptions = (why: string) =>
  ApplicationFailure.nonRetryable(`invalid run options: ${why}`, 'InvalidRunOptions');

/**
 * The run's options over its agent's defaults, read from the worker when the run starts. A
 * continued run is handed the merged options, so a chain reads the profile once.
 */
async function resolveOptions(input: AgentRunInput): Promise<RunOptionsInput> {
  const first = RunOptions.safeParse(input.options);
  if (!first.success) throw invalidOptions(describeZodError(first.error));
  const agent = first.data.agent;
  if (agent === undefined || input.memory) return input.options;
  try {
    return withAgentDefaults(await agentProfile(agent), input.options);
  } catch (err) {
    // The activity's failure (an unknown agent) is the reason; Temporal wraps it once or not at all.
    if (err instanceof TemporalFailure) throw invalidOptions(err.cause?.message ?? err.message);
    throw err;
  }
}

/** A failed run fails the workflow, with the result in the failure's details for `longhaul export`. */
function endRun(run: Run, end: RunEnd): RunResult {
  setStatus(run, end.status);
  run.reason = end.reason;
  log.info('run ended', { turn: run.memory.counters.turn, status: end.status, reason: end.reason });
  const result = runResult(run.memory, end);
  if (end.status === 'failed') throw ApplicationFailure.nonRetryable(`run failed: ${end.reason}`, 'RunFailed', result);
  return result;
}
