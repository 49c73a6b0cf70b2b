import {
  ActivityFailure,
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  log,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  sleep,
  TemporalFailure,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities, ModelTurn, PendingBlock, ToolCall } from '../activities/index.js';
import { countModelCall, countToolResults, initialCounters, logCompaction, tokensUsed, type CompactionEntry, type Counters } from './counters.js';
import {
  checkResponse,
  timeoutOutcome,
  type ClosedEscalation,
  type Escalation,
  type EscalationKind,
  type HumanResponse,
  type Outcome,
} from './escalation.js';
import {
  escalationQuery,
  humanResponseSignal,
  progressQuery,
  respondUpdate,
  stateQuery,
  type Progress,
  type RunMemo,
  type RunResult,
  type RunStatus,
} from './messages.js';
import { describeZodError, RunOptions, toolPolicy, withAgentDefaults, type RunOptionsInput } from './options.js';
import { LONGHAUL_ESCALATION, LONGHAUL_STATUS } from './search-attributes.js';
import { applyStateUpdate, initialState, summarizeState, type AgentState, type StateUpdate } from './state.js';
import { isStateTool, stateTools } from './state-tools.js';

// All activity options in one place. Both kinds heartbeat every second, so a dead worker is noticed
// within the 5 s heartbeat timeout rather than after the whole start-to-close budget; the first
// retry follows half a second later. (3 s was measured too tight: a worker saturated by 100 runs
// missed it 238 times in one benchmark run, each a model call done twice; 5 s, twice.)
const { callModel, compactTranscript } = proxyActivities<Activities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '5 seconds',
  retry: { initialInterval: '500 milliseconds', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 12 },
});
const toolRetry = { initialInterval: '500 milliseconds', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 8 };
const { runTool } = proxyActivities<Activities>({ startToCloseTimeout: '5 minutes', heartbeatTimeout: '5 seconds', retry: toolRetry });
// Tools without side effects (reads) run in the worker within the workflow task that follows the
// model call: no dispatch through the server, and one workflow task a turn instead of two.
const { runTool: runToolLocally } = proxyLocalActivities<Activities>({ startToCloseTimeout: '2 minutes', retry: toolRetry });
const { notifyEscalation } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 10 },
});
// The agent's profile is in the worker's memory: a local activity costs no extra round trip.
const { agentProfile } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '10 seconds',
  retry: { maximumAttempts: 3 },
});

/**
 * Everything a run remembers, in one object, so that it is carried into a continued run whole.
 * The loop below is driven by it alone: a continued run resumes exactly where the last one stood,
 * in the middle of a turn's tool calls or while a person is being asked.
 */
export interface RunMemory {
  state: AgentState;
  /** The state as the store holds it for the model call, and the updates made since. */
  stateRef: ModelTurn['stateRef'];
  stateUpdates: StateUpdate[];
  counters: Counters;
  compactions: CompactionEntry[];
  escalations: ClosedEscalation[];
  escalationSeq: number;
  /** The escalation waiting for a person, if any. */
  open: Escalation | null;
  ignoredResponses: Progress['ignoredResponses'];
  /** The caps in force: the options' values plus what people granted. */
  maxTurns: number;
  tokenBudget: number | undefined;
  /** The transcript's head in the store, and the system prompt + task once stored. */
  head: ModelTurn['head'] | null;
  instructionsRef: ModelTurn['instructionsRef'] | null;
  /** The next user message. */
  append: PendingBlock[] | null;
  /** A turn whose model call has not succeeded yet (it is retried, not counted again). */
  turnOpen: boolean;
  /** The current reply's tool calls not yet run, the results of those that ran, and whether it was cut off. */
  pendingCalls: ToolCall[];
  results: PendingBlock[];
  cutOff: boolean;
  wrappingUp: boolean;
  /** What failed last (a tool error or a model call), for the person asked after a run of failures. */
  lastFailure: string;
  report: string | undefined;
  lastText: string;
  chain: { runNumber: number; turnsAtStart: number; compactionsAtStart: number };
}

export interface AgentRunInput {
  options: RunOptionsInput;
  /** Set by continue-as-new; absent when a run starts. */
  memory?: RunMemory;
}

/** At most this many calls continue one turn after `compaction` or `pause_turn` stops. */
const MAX_CONTINUATIONS = 4;
const HISTORY_LIMIT = 100;
const MEMO_EVERY = 10;
const BEGIN = 'Begin the task described in the system prompt.';
const NUDGE = 'Continue the task with your tools. When it is complete, call finish with your report.';
const CUT_OFF = 'Your reply was cut off at the output token limit; keep each reply shorter.';
const WRAP_UP = "You have reached this run's limit. Call finish now with the best report you can give from what you have.";

const text = (t: string): PendingBlock => ({ type: 'text', text: t });
const withText = (blocks: PendingBlock[] | null, t: string): PendingBlock[] => [...(blocks ?? []), text(t)];
const checkStateUpdate = (input: unknown): NonNullable<ToolCall['stateUpdate']> => {
  const parsed = stateTools.update_state.input.safeParse(input);
  return parsed.success ? { ok: true, update: parsed.data } : { ok: false, error: describeZodError(parsed.error) };
};

const toolResult = (call: ToolCall, content: string, isError = false): PendingBlock => ({
  type: 'tool_result',
  tool_use_id: call.id,
  content,
  ...(isError ? { is_error: true } : {}),
});
const preview = (value: unknown, max = 500) => {
  const json = JSON.stringify(value) ?? '';
  return json.length > max ? `${json.slice(0, max)}…` : json;
};

function freshMemory(options: RunOptions): RunMemory {
  return {
    state: initialState(),
    stateRef: null,
    stateUpdates: [],
    counters: initialCounters(),
    compactions: [],
    escalations: [],
    escalationSeq: 0,
    open: null,
    ignoredResponses: [],
    maxTurns: options.maxTurns,
    tokenBudget: options.tokenBudget,
    head: null,
    instructionsRef: null,
    append: [text(BEGIN)],
    turnOpen: false,
    pendingCalls: [],
    results: [],
    cutOff: false,
    wrappingUp: false,
    lastFailure: '',
    report: undefined,
    lastText: '',
    chain: { runNumber: 1, turnsAtStart: 0, compactionsAtStart: 0 },
  };
}

const invalidOptions = (why: string) => ApplicationFailure.nonRetryable(`invalid run options: ${why}`, 'InvalidRunOptions');

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

export async function agentRun(input: AgentRunInput): Promise<RunResult> {
  const runOptions = await resolveOptions(input);
  const parsed = RunOptions.safeParse(runOptions);
  if (!parsed.success) throw invalidOptions(describeZodError(parsed.error));
  const options = parsed.data;
  const { workflowId } = workflowInfo();
  const m: RunMemory = input.memory ?? freshMemory(options);

  let status: RunStatus = m.open ? 'awaiting_human' : 'running';
  let reason: string | undefined;
  /** An answer received but not yet acted on: never carried, because the run never continues as new with one. */
  let answer: HumanResponse | null = null;
  const closedIds = () => new Set(m.escalations.map((e) => e.id));
  const now = () => new Date().toISOString();

  /**
   * The memo: what the Web UI shows of a run without a query (status, turn, tokens, compactions,
   * waiting on a person). Written on every status change and every MEMO_EVERY turns, so it costs
   * one history event at those points only.
   */
  const publishMemo = () => {
    if (!patched('progress-memo')) return;
    const memo: RunMemo = {
      status,
      turn: m.counters.turn,
      maxTurns: m.maxTurns,
      tokensUsed: tokensUsed(m.counters),
      compactions: m.counters.compactions,
      ...(m.open ? { waitingOnPerson: `${m.open.kind} ${m.open.id}: ${m.open.question}` } : {}),
      runInChain: m.chain.runNumber,
    };
    // A memo upsert merges; null removes a key, so the waiting note goes when the wait ends.
    upsertMemo({ waitingOnPerson: null, ...memo });
  };
  const setStatus = (next: RunStatus, escalation: EscalationKind | null = null) => {
    status = next;
    upsertSearchAttributes([
      { key: LONGHAUL_STATUS, value: next },
      { key: LONGHAUL_ESCALATION, value: escalation },
    ]);
    publishMemo();
  };

  setHandler(progressQuery, (): Progress => ({
    status,
    counters: m.counters,
    maxTurns: m.maxTurns,
    ...(m.tokenBudget !== undefined ? { tokenBudget: m.tokenBudget } : {}),
    compactions: m.compactions,
    escalation: m.open,
    escalations: m.escalations,
    ignoredResponses: m.ignoredResponses,
    chain: m.chain,
    lastText: m.lastText,
    ...(reason ? { reason } : {}),
    ...(m.report !== undefined ? { report: m.report } : {}),
    head: m.head, instructionsRef: m.instructionsRef,
  }));
  setHandler(stateQuery, () => m.state);
  setHandler(escalationQuery, () => m.open);
  setHandler(humanResponseSignal, (raw) => {
    const checked = checkResponse(raw, m.open, closedIds(), answer !== null);
    if (checked.ok) answer = checked.response;
    else {
      log.info('ignored a humanResponse signal', { turn: m.counters.turn, reason: checked.error });
      m.ignoredResponses = [...m.ignoredResponses, { reason: checked.error, at: now() }].slice(-HISTORY_LIMIT);
    }
  });
  setHandler(
    respondUpdate,
    (response) => {
      answer = response;
      return { escalationId: response.escalationId, decision: response.decision };
    },
    {
      validator: (raw) => {
        const checked = checkResponse(raw, m.open, closedIds(), answer !== null);
        if (!checked.ok) throw new Error(checked.error);
      },
    },
  );

  /** Hands everything to a new run of this workflow once every message handler is done. */
  const continueNow = async (): Promise<never> => {
    await condition(allHandlersFinished);
    log.info('continuing as new', { turn: m.counters.turn, run: m.chain.runNumber });
    return continueAsNew<typeof agentRun>({
      options: runOptions,
      memory: { ...m, chain: { runNumber: m.chain.runNumber + 1, turnsAtStart: m.counters.turn, compactionsAtStart: m.counters.compactions } },
    });
  };

  /** Opens an escalation; waiting for it is `escalate`'s part. */
  const openEscalation = (kind: EscalationKind, why: string, question: string, held?: ToolCall): Escalation => {
    const timeoutMs = options.escalation.timeoutSeconds * 1000;
    const escalation: Escalation = {
      id: `esc-${++m.escalationSeq}`,
      kind,
      reason: why,
      question,
      ...(held ? { heldToolCall: held } : {}),
      openedAt: now(),
      deadline: new Date(Date.now() + timeoutMs).toISOString(),
    };
    m.open = escalation;
    answer = null;
    const turn = m.counters.turn;
    log.info('escalation opened', { turn, id: escalation.id, kind });
    if (options.escalation.webhookUrl) {
      // Notification must not hold the run: the person may answer before the webhook lands.
      notifyEscalation({ url: options.escalation.webhookUrl, workflowId, escalation }).catch((err: unknown) =>
        // The escalation's turn: the run may be turns further on when the webhook fails.
        log.warn('escalation webhook failed', { turn, id: escalation.id, error: String(err) }),
      );
    }
    return escalation;
  };

  /**
   * Opens an escalation, or resumes the one already open (carried by a continued run), and waits
   * on a durable timer for a person's answer or the deadline. While it waits the run may
   * continue as new; the escalation goes with it.
   */
  const escalate = async (kind: EscalationKind, why: string, question: string, held?: ToolCall): Promise<Outcome> => {
    const escalation = m.open ?? openEscalation(kind, why, question, held);
    setStatus('awaiting_human', escalation.kind);
    const remaining = Date.parse(escalation.deadline) - Date.now();
    if (remaining > 0) await condition(() => answer !== null || workflowInfo().continueAsNewSuggested, remaining);
    // Set by a message handler while we waited (TypeScript cannot see that).
    const got = answer as HumanResponse | null;
    if (!got && workflowInfo().continueAsNewSuggested && Date.parse(escalation.deadline) > Date.now()) await continueNow();
    const outcome: Outcome = got
      ? {
          decision: got.decision,
          ...(got.message ? { message: got.message } : {}),
          ...(got.turns ? { turns: got.turns } : {}),
          ...(got.tokens ? { tokens: got.tokens } : {}),
          by: got.by ?? 'human',
          at: now(),
        }
      : timeoutOutcome(escalation.kind, options.escalation.onTimeout, now(), `${options.escalation.timeoutSeconds} s`);
    m.escalations = [...m.escalations, { ...escalation, outcome }].slice(-HISTORY_LIMIT);
    m.open = null;
    answer = null;
    setStatus('running');
    return outcome;
  };

  const end = (final: RunResult['status'], why?: string): RunResult => {
    setStatus(final);
    reason = why;
    log.info('run ended', { turn: m.counters.turn, status: final, reason: why });
    const result: RunResult = {
      status: final,
      counters: m.counters,
      compactions: m.compactions,
      escalations: m.escalations,
      state: m.state,
      chain: m.chain,
      maxTurns: m.maxTurns,
      head: m.head,
      instructionsRef: m.instructionsRef,
      ...(m.report !== undefined ? { report: m.report } : {}),
      ...(why ? { reason: why } : {}),
    };
    if (final === 'failed') throw ApplicationFailure.nonRetryable(`run failed: ${why}`, 'RunFailed', result);
    return result;
  };
  const stoppedBy = (o: Outcome) =>
    o.by === 'timeout' ? o.message ?? 'no answer in time' : `stopped by ${o.by}${o.message ? `: ${o.message}` : ''}`;

  /** Calls the model (or, for a context that no longer fits, compacts it on demand) and books the reply. */
  const ask = async (activity: typeof callModel = callModel): Promise<ModelTurn> => {
    // The summary names the call in the Web UI's event list; it is metadata, not a command.
    const what = activity === callModel ? 'model call' : 'on-demand compaction';
    const reply = await activity.executeWithOptions({ summary: `${what}, turn ${m.counters.turn}` }, [{
      workflowId,
      turn: m.counters.turn,
      model: options.model,
      maxOutputTokens: options.maxOutputTokens,
      instructions: m.instructionsRef ? { ref: m.instructionsRef } : { systemPrompt: options.systemPrompt, task: options.task },
      state: options.injectState ? { ref: m.stateRef, updates: m.stateUpdates } : null,
      compaction: options.compaction,
      head: m.head,
      append: m.append,
      ...(options.agent !== undefined ? { agent: options.agent } : {}),
    }]);
    m.instructionsRef = reply.instructionsRef;
    m.stateRef = reply.stateRef;
    m.stateUpdates = [];
    m.head = reply.head;
    m.append = null;
    m.counters = countModelCall(m.counters, reply);
    m.compactions = logCompaction(m.compactions, m.counters.turn, reply);
    if (reply.text) m.lastText = reply.text;
    return reply;
  };

  /** Runs one tool call under its policy; state tools run here, the rest as an activity. */
  const runCall = async (call: ToolCall): Promise<PendingBlock | Outcome> => {
    const policy = isStateTool(call.name) ? 'allow' : toolPolicy(options, call.name);
    if (policy === 'deny') return toolResult(call, `${call.name} is not allowed in this run`, true);
    if (policy === 'approve') {
      const o = await escalate('tool_approval', `the model wants to run ${call.name}`, `Approve ${call.name} ${preview(call.input)}?`, call);
      if (o.decision === 'stop') return o;
      if (o.decision !== 'approve') return toolResult(call, `A person declined this ${call.name} call: ${o.message ?? 'no reason given'}`, true);
    }
    switch (call.name) {
      case 'update_state': {
        // An agent's own lists are checked by the model activity, which has their schemas.
        const update = call.stateUpdate ?? checkStateUpdate(call.input);
        if (!update.ok) return toolResult(call, `invalid update_state input: ${update.error}`, true);
        m.state = applyStateUpdate(m.state, update.update);
        m.stateUpdates = [...m.stateUpdates, update.update];
        return toolResult(call, `state updated: ${summarizeState(m.state)}`);
      }
      case 'escalate_to_human': {
        const request = stateTools.escalate_to_human.input.safeParse(call.input);
        if (!request.success) return toolResult(call, `invalid escalate_to_human input: ${describeZodError(request.error)}`, true);
        const o = await escalate('model_request', request.data.reason, request.data.question);
        if (o.decision === 'stop') return o;
        if (o.decision === 'deny') return toolResult(call, `A person declined: ${o.message}`, true);
        return toolResult(call, o.decision === 'approve' ? `A person approved${o.message ? `: ${o.message}` : '.'}` : `A person replied: ${o.message}`);
      }
      case 'finish': {
        const finish = stateTools.finish.input.safeParse(call.input);
        if (!finish.success) return toolResult(call, `invalid finish input: ${describeZodError(finish.error)}`, true);
        m.report = finish.data.report;
        return toolResult(call, 'run finished');
      }
      default: {
        // Which tools change nothing is the worker's knowledge, recorded in the model call's result.
        const run = call.sideEffectFree ? runToolLocally : runTool;
        return run.executeWithOptions({ summary: `${call.name} ${preview(call.input, 80)}` }, [
          { workflowId, turn: m.counters.turn, workspace: options.workspace, call, ...(options.agent !== undefined ? { agent: options.agent } : {}) },
        ]);
      }
    }
  };

  const capReached = (): { kind: EscalationKind; text: string } | null => {
    if (m.counters.turn >= m.maxTurns) return { kind: 'turn_cap', text: `turn cap of ${m.maxTurns} reached` };
    if (m.tokenBudget !== undefined && tokensUsed(m.counters) >= m.tokenBudget) {
      return { kind: 'token_budget', text: `token budget of ${m.tokenBudget} reached (${tokensUsed(m.counters)} used)` };
    }
    return null;
  };

  /** Between turns: after a compaction (the context is smallest), every N turns, or when the server asks. */
  const dueForContinueAsNew = () =>
    workflowInfo().continueAsNewSuggested ||
    (m.pendingCalls.length === 0 &&
      (m.counters.compactions > m.chain.compactionsAtStart || m.counters.turn - m.chain.turnsAtStart >= options.continueAsNewEvery));

  setStatus(status, m.open?.kind ?? null);
  for (;;) {
    if (m.report === undefined && dueForContinueAsNew()) await continueNow();

    // 1. A run of failures asks a person before anything else happens.
    if (m.counters.failuresInRow >= options.escalation.maxConsecutiveFailures) {
      const o = await escalate(
        'failures',
        `${m.counters.failuresInRow} failures in a row; the last: ${m.lastFailure}`,
        'Reply with guidance for the model, approve to carry on, or stop the run.',
      );
      if (o.decision === 'stop') return end('stopped', stoppedBy(o));
      m.counters = { ...m.counters, failuresInRow: 0 };
      if (o.decision === 'reply' && o.message) m.append = withText(m.append, `A person says: ${o.message}`);
      continue;
    }

    // 2. A refusal waits for a person's guidance.
    if (m.open?.kind === 'refusal') {
      const o = await escalate('refusal', m.open.reason, m.open.question);
      if (o.decision !== 'reply') return end('stopped', `the model refused; ${stoppedBy(o)}`);
      m.append = withText(m.results, `A person says: ${o.message}`);
      m.results = [];
      continue;
    }

    // 3. The current reply's tool calls, one at a time; every tool_use gets its tool_result, in order.
    const call = m.pendingCalls[0];
    if (call) {
      const result = m.report !== undefined ? toolResult(call, 'not run: the run had finished', true) : await runCall(call);
      if (!('type' in result)) return end('stopped', stoppedBy(result));
      m.results = [...m.results, result];
      m.pendingCalls = m.pendingCalls.slice(1);
      if (result.type === 'tool_result' && result.is_error) m.lastFailure = `${call.name}: ${'content' in result ? result.content : 'see the transcript'}`;
      if (m.pendingCalls.length === 0) {
        m.counters = countToolResults(m.counters, m.results);
        m.append = m.cutOff ? withText(m.results, CUT_OFF) : m.results;
        m.results = [];
        if (m.report !== undefined) return end('completed');
      }
      continue;
    }

    // 4. A new turn: caps first, then the model.
    if (!m.turnOpen) {
      const cap = capReached();
      if (cap) {
        if (m.wrappingUp) return end('stopped', `${cap.text}; the wrap-up turn ended without finish`);
        if (options.escalation.onCap === 'stop') return end('stopped', cap.text);
        if (options.escalation.onCap === 'wrap-up') {
          m.wrappingUp = true;
          m.append = withText(m.append, WRAP_UP);
        } else {
          const o = await escalate(cap.kind, cap.text, 'Extend the run (turns and/or tokens) or stop it?');
          if (o.decision !== 'extend') return end('stopped', `${cap.text}; ${stoppedBy(o)}`);
          m.maxTurns += o.turns ?? 0;
          if (m.tokenBudget !== undefined) m.tokenBudget += o.tokens ?? 0;
          continue;
        }
      }
      m.counters = { ...m.counters, turn: m.counters.turn + 1 };
      if (m.counters.turn % MEMO_EVERY === 0) publishMemo();
      m.turnOpen = true;
    }

    let reply: ModelTurn;
    try {
      reply = await ask();
      // A pause for compaction, or a server-side pause, hands the turn back unfinished: go on.
      for (let n = 0; (reply.stopReason === 'compaction' || reply.stopReason === 'pause_turn') && n < MAX_CONTINUATIONS; n++) {
        reply = await ask();
      }
      // The context outgrew the model's window (threshold compaction off, or too late): summarize
      // it on demand and ask again, once.
      if (reply.stopReason === 'model_context_window_exceeded' && patched('on-demand-compaction')) {
        await ask(compactTranscript);
        reply = await ask();
      }
    } catch (err) {
      // Retryable errors were already retried by Temporal: this one failed for good.
      if (!(err instanceof ActivityFailure)) throw err;
      m.lastFailure = `model call: ${err.cause?.message ?? err.message}`;
      m.counters = { ...m.counters, failuresInRow: m.counters.failuresInRow + 1 };
      if (m.counters.failuresInRow < options.escalation.maxConsecutiveFailures) await sleep(`${5 * m.counters.failuresInRow} seconds`);
      continue;
    }
    m.turnOpen = false;

    switch (reply.stopReason) {
      case 'refusal':
        if (options.escalation.onRefusal === 'stop') return end('stopped', 'the model refused to continue');
        // Step 2 waits for the answer; opening here lets a continued run resume the wait.
        m.results = reply.toolCalls.map((c) => toolResult(c, 'not run: the reply was a refusal', true));
        openEscalation('refusal', 'the model refused to continue', 'Reply with guidance for the model, or stop the run.');
        continue;
      case 'model_context_window_exceeded':
        return end('failed', 'the context window was exceeded even after compaction; lower the compaction trigger');
      case 'tool_use':
      case 'end_turn':
      case 'stop_sequence':
      case 'max_tokens':
        break;
      default:
        return end('failed', `unexpected stop reason ${JSON.stringify(reply.stopReason)}`);
    }

    if (reply.toolCalls.length === 0) {
      m.counters = { ...m.counters, idleReplies: m.counters.idleReplies + 1 };
      if (m.counters.idleReplies >= options.maxIdleReplies) {
        return end('stopped', `the model replied ${m.counters.idleReplies} times in a row without using a tool`);
      }
      m.append = [text(reply.stopReason === 'max_tokens' ? CUT_OFF : NUDGE)];
      continue;
    }
    m.counters = { ...m.counters, idleReplies: 0 };
    m.pendingCalls = reply.toolCalls;
    m.cutOff = reply.stopReason === 'max_tokens';
  }
}
