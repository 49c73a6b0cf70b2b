import { ApplicationFailure, isCancellation, log, patched, TemporalFailure, workflowInfo } from '@temporalio/workflow';
import type { Admission } from '../common/admission.js';
import type { ParentLink } from '../common/delegation.js';
import type { AgentRunInput, RunResult } from '../common/messages.js';
import { describeZodError, RunOptions, withAgentDefaults, type RunOptionsInput } from '../common/options.js';
import { admitRun, agentProfile } from './activities.js';
import { readCarriedState } from './carried-state.js';
import { initialState } from '../common/state.js';
import { installHandlers, installQueries } from './handlers.js';
import { freshMemory, fromCarried, type RunMemory } from './memory.js';
import { nextStep } from './next-step.js';
import { runPatches, runResult, type Run, type RunEnd, type RunPatches } from './run.js';
import { takeStep } from './steps.js';
import { setStatus, showStatus } from './visibility.js';

/**
 * One run of an agent: a thin loop that takes the step its memory names (next-step.ts) until the
 * run ends. A chain of Temporal runs (continue-as-new) carries the memory from one to the next.
 */
export async function agentRun(input: AgentRunInput): Promise<RunResult> {
  const patches = runPatches();
  const submitted = RunOptions.safeParse(input.options);
  if (!submitted.success) throw invalidOptions(describeZodError(submitted.error));
  // Queries answer while the worker admits the run or reads its carried state (activities).
  installQueries(runOf(input, memorySubmitted(input, submitted.data), submitted.data, input.options, patches));
  const resolvedOptions = await resolveOptions(input, submitted.data);
  const parsed = RunOptions.safeParse(resolvedOptions);
  if (!parsed.success) throw invalidOptions(describeZodError(parsed.error));
  const options = parsed.data;
  const run = runOf(input, memorySubmitted(input, options), options, resolvedOptions, patches);
  installHandlers(run);
  setStatus(run, run.status, run.memory.openEscalation?.kind ?? null);
  try {
    return endRun(run, await runSteps(run, input));
  } catch (err) {
    // Temporal cancelled the run: visibility says so, and the run still ends as cancelled.
    if (isCancellation(err) && patches.visibleEnds) showStatus(run, 'cancelled');
    throw err;
  }
}

/** The steps of the run until one ends it. */
async function runSteps(run: Run, input: AgentRunInput): Promise<RunEnd> {
  if (input.memory && !input.memory.state) {
    const end = await readCarriedState(run, input.memory);
    if (end) return end;
  }
  for (;;) {
    const hints = { continueAsNewSuggested: workflowInfo().continueAsNewSuggested };
    const end = await takeStep(run, nextStep(run.memory, run.options, hints, run.patches));
    if (end) return end;
  }
}

/**
 * The memory as submitted: a fresh one, or the carried one, whose state is empty until read back
 * when it was carried by reference (readCarriedState). The queries show it while the worker admits
 * the run.
 */
function memorySubmitted(input: AgentRunInput, submitted: RunOptions): RunMemory {
  if (!input.memory) return freshMemory(submitted);
  return fromCarried({ ...input.memory, state: input.memory.state ?? initialState() });
}

function runOf(
  input: AgentRunInput,
  memory: RunMemory,
  options: RunOptions,
  resolvedOptions: RunOptionsInput,
  patches: RunPatches,
): Run {
  return {
    parent: input.parent,
    options,
    resolvedOptions,
    patches,
    workflowId: workflowInfo().workflowId,
    chainId: workflowInfo().firstExecutionRunId,
    memory,
    status: memory.openEscalation ? 'awaiting_human' : 'running',
    reason: undefined,
    answer: null,
  };
}

const invalidOptions = (why: string) =>
  ApplicationFailure.nonRetryable(`invalid run options: ${why}`, 'InvalidRunOptions');

/**
 * The run's options as the worker admits them when the run starts (agent defaults merged, tool
 * policies under their ceiling, workspace and webhook checked). A continued run is handed the
 * admitted options, so a chain is admitted once; a run started with a memory but not continued
 * from another (a hand-made input) is admitted like a new one. Runs from before admission read
 * only their agent's profile.
 */
async function resolveOptions(input: AgentRunInput, submitted: RunOptions): Promise<RunOptionsInput> {
  const continued = input.memory !== undefined && workflowInfo().continuedFromExecutionRunId !== undefined;
  // A sub-agent's options are narrowed to its agent's, not refused (common/admission.ts Admission):
  // only its input says it is one; runs started by a person keep the one-argument call they recorded.
  if (!continued && patched('worker-admits-runs'))
    return fromWorker(input.parent ? admitRun(input.options, childAdmission(input.parent)) : admitRun(input.options));
  const agent = submitted.agent;
  if (agent === undefined || input.memory) return input.options;
  return fromWorker(agentProfile(agent).then((defaults) => withAgentDefaults(defaults, input.options)));
}

const childAdmission = (parent: ParentLink): Admission => ({
  child: true,
  ...(parent.workspace !== undefined ? { within: parent.workspace } : {}),
});

/** A local activity's refusal (an unknown agent, a workspace outside the roots) fails the run with its reason. */
async function fromWorker(options: Promise<RunOptionsInput>): Promise<RunOptionsInput> {
  try {
    return await options;
  } catch (err) {
    // Temporal wraps the activity's failure once or not at all.
    if (err instanceof TemporalFailure) throw invalidOptions(err.cause?.message ?? err.message);
    throw err;
  }
}

/** A failed run fails the workflow, with the result in the failure's details for `longhaul export`. */
function endRun(run: Run, end: RunEnd): RunResult {
  // The reason first: the current details show it with the status.
  run.reason = end.reason;
  setStatus(run, end.status);
  log.info('run ended', { turn: run.memory.counters.turn, status: end.status, reason: end.reason });
  const result = runResult(run.memory, end);
  if (end.status === 'failed') throw ApplicationFailure.nonRetryable(`run failed: ${end.reason}`, 'RunFailed', result);
  return result;
}
