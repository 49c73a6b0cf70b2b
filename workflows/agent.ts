import {
  ActivityFailure,
  ApplicationFailure,
  condition,
  log,
  proxyActivities,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities, ModelTurn, PendingBlock, ToolCall } from '../activities/index.js';
import {
  countModelCall,
  countToolResults,
  initialCounters,
  logCompaction,
  tokensUsed,
  type CompactionEntry,
  type Counters,
} from './counters.js';
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
  type RunResult,
  type RunStatus,
} from './messages.js';
import { describeZodError, RunOptions, toolPolicy, type RunOptionsInput } from './options.js';
import { LONGHAUL_ESCALATION, LONGHAUL_STATUS } from './search-attributes.js';
import { applyStateUpdate, initialState, summarizeState, type AgentState } from './state.js';
import { isStateTool, stateTools } from './state-tools.js';

// All activity options in one place. Both kinds heartbeat, so a dead worker is noticed within the
// heartbeat timeout rather than after the whole start-to-close budget.
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
const { notifyEscalation } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 10 },
});

/** Everything a run remembers: one object, so that it can be carried into a continued run whole. */
export interface RunMemory {
  state: AgentState;
  counters: Counters;
  compactions: CompactionEntry[];
  escalations: ClosedEscalation[];
  escalationSeq: number;
  /** The caps in force: the options' values plus what people granted. */
  maxTurns: number;
  tokenBudget: number | undefined;
  /** The transcript's head in the store, and the system prompt + task once stored. */
  head: ModelTurn['head'] | null;
  instructionsRef: ModelTurn['instructionsRef'] | null;
  /** The next user message. */
  append: PendingBlock[] | null;
  wrappingUp: boolean;
  lastText: string;
}

export interface AgentRunInput {
  options: RunOptionsInput;
}

/** At most this many calls continue one turn after `compaction` or `pause_turn` stops. */
const MAX_CONTINUATIONS = 4;
const HISTORY_LIMIT = 100;
const BEGIN = 'Begin the task described in the system prompt.';
const NUDGE = 'Continue the task with your tools. When it is complete, call finish with your report.';
const CUT_OFF = 'Your reply was cut off at the output token limit; keep each reply shorter.';
const WRAP_UP = 'You have reached this run\'s limit. Call finish now with the best report you can give from what you have.';

const text = (t: string): PendingBlock => ({ type: 'text', text: t });
const withText = (blocks: PendingBlock[] | null, t: string): PendingBlock[] => [...(blocks ?? []), text(t)];
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

export async function agentRun(input: AgentRunInput): Promise<RunResult> {
  const parsed = RunOptions.safeParse(input.options);
  if (!parsed.success) {
    throw ApplicationFailure.nonRetryable(`invalid run options: ${describeZodError(parsed.error)}`, 'InvalidRunOptions');
  }
  const options = parsed.data;
  const { workflowId } = workflowInfo();
  const m: RunMemory = {
    state: initialState(),
    counters: initialCounters(),
    compactions: [],
    escalations: [],
    escalationSeq: 0,
    maxTurns: options.maxTurns,
    tokenBudget: options.tokenBudget,
    head: null,
    instructionsRef: null,
    append: [text(BEGIN)],
    wrappingUp: false,
    lastText: '',
  };

  let status: RunStatus = 'running';
  let reason: string | undefined;
  let report: string | undefined;
  let open: Escalation | null = null;
  let answer: HumanResponse | null = null;
  let ignoredResponses: Progress['ignoredResponses'] = [];
  const closedIds = () => new Set(m.escalations.map((e) => e.id));
  const now = () => new Date().toISOString();

  const setStatus = (next: RunStatus, escalation: EscalationKind | null = null) => {
    status = next;
    upsertSearchAttributes([
      { key: LONGHAUL_STATUS, value: next },
      { key: LONGHAUL_ESCALATION, value: escalation },
    ]);
  };

  setHandler(progressQuery, (): Progress => ({
    status,
    counters: m.counters,
    maxTurns: m.maxTurns,
    ...(m.tokenBudget !== undefined ? { tokenBudget: m.tokenBudget } : {}),
    compactions: m.compactions,
    escalation: open,
    escalations: m.escalations,
    ignoredResponses,
    lastText: m.lastText,
    ...(reason ? { reason } : {}),
    ...(report ? { report } : {}),
  }));
  setHandler(stateQuery, () => m.state);
  setHandler(escalationQuery, () => open);
  setHandler(humanResponseSignal, (raw) => {
    const checked = checkResponse(raw, open, closedIds(), answer !== null);
    if (checked.ok) answer = checked.response;
    else {
      log.warn('ignored a humanResponse signal', { reason: checked.error });
      ignoredResponses = [...ignoredResponses, { reason: checked.error, at: now() }].slice(-HISTORY_LIMIT);
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
        const checked = checkResponse(raw, open, closedIds(), answer !== null);
        if (!checked.ok) throw new Error(checked.error);
      },
    },
  );

  /** Opens an escalation and waits, on a durable timer, for a person's answer or the deadline. */
  const escalate = async (kind: EscalationKind, why: string, question: string, held?: ToolCall): Promise<Outcome> => {
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
    open = escalation;
    answer = null;
    setStatus('awaiting_human', kind);
    log.info('escalation opened', { id: escalation.id, kind });
    if (options.escalation.webhookUrl) {
      // Notification must not hold the run: the person may answer before the webhook lands.
      notifyEscalation({ url: options.escalation.webhookUrl, workflowId, escalation }).catch((err: unknown) =>
        log.warn('escalation webhook failed', { error: String(err) }),
      );
    }
    await condition(() => answer !== null, timeoutMs);
    // Set by a message handler while we waited (TypeScript cannot see that).
    const got = answer as HumanResponse | null;
    const outcome: Outcome =
      got
        ? {
            decision: got.decision,
            ...(got.message ? { message: got.message } : {}),
            ...(got.turns ? { turns: got.turns } : {}),
            ...(got.tokens ? { tokens: got.tokens } : {}),
            by: got.by ?? 'human',
            at: now(),
          }
        : timeoutOutcome(kind, options.escalation.onTimeout, now(), `${options.escalation.timeoutSeconds} s`);
    m.escalations = [...m.escalations, { ...escalation, outcome }].slice(-HISTORY_LIMIT);
    open = null;
    answer = null;
    setStatus('running');
    return outcome;
  };

  const end = (final: RunResult['status'], why?: string): RunResult => {
    setStatus(final);
    reason = why;
    log.info('run ended', { status: final, reason: why, turns: m.counters.turn });
    const result: RunResult = {
      status: final,
      counters: m.counters,
      compactions: m.compactions,
      escalations: m.escalations,
      state: m.state,
      ...(report !== undefined ? { report } : {}),
      ...(why ? { reason: why } : {}),
    };
    if (final === 'failed') throw ApplicationFailure.nonRetryable(`run failed: ${why}`, 'RunFailed', result);
    return result;
  };
  const stoppedBy = (o: Outcome) => (o.by === 'timeout' ? o.message ?? 'no answer in time' : `stopped by ${o.by}${o.message ? `: ${o.message}` : ''}`);

  const ask = async (): Promise<ModelTurn> => {
    const reply = await callModel({
      workflowId,
      turn: m.counters.turn,
      model: options.model,
      maxOutputTokens: options.maxOutputTokens,
      instructions: m.instructionsRef ? { ref: m.instructionsRef } : { systemPrompt: options.systemPrompt, task: options.task },
      state: options.injectState ? m.state : null,
      compaction: options.compaction,
      head: m.head,
      append: m.append,
    });
    m.instructionsRef = reply.instructionsRef;
    m.head = reply.head;
    m.append = null;
    m.counters = countModelCall(m.counters, reply);
    m.compactions = logCompaction(m.compactions, m.counters.turn, reply);
    if (reply.text) m.lastText = reply.text;
    return reply;
  };

  /**
   * One model turn, continued through pauses. Retryable errors were already retried by Temporal;
   * what arrives here failed for good, and counts toward the failures that call a person.
   */
  const askUntilAnswered = async (): Promise<ModelTurn | Outcome> => {
    for (;;) {
      try {
        let reply = await ask();
        for (let n = 0; (reply.stopReason === 'compaction' || reply.stopReason === 'pause_turn') && n < MAX_CONTINUATIONS; n++) {
          reply = await ask();
        }
        return reply;
      } catch (err) {
        if (!(err instanceof ActivityFailure)) throw err;
        const message = err.cause?.message ?? err.message;
        m.counters = { ...m.counters, failuresInRow: m.counters.failuresInRow + 1 };
        m.state = { ...m.state, errors: [...m.state.errors, `turn ${m.counters.turn}: model call failed: ${message}`].slice(-HISTORY_LIMIT) };
        if (m.counters.failuresInRow < options.escalation.maxConsecutiveFailures) {
          await sleep(`${5 * m.counters.failuresInRow} seconds`);
          continue;
        }
        const o = await escalate('failures', `${m.counters.failuresInRow} failures in a row; the model call failed: ${message}`, 'Carry on (approve or reply) to retry the call, or stop the run.');
        if (o.decision === 'stop') return o;
        m.counters = { ...m.counters, failuresInRow: 0 };
        if (o.decision === 'reply' && o.message) m.append = withText(m.append, `A person says: ${o.message}`);
      }
    }
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
        const update = stateTools.update_state.input.safeParse(call.input);
        if (!update.success) return toolResult(call, `invalid update_state input: ${describeZodError(update.error)}`, true);
        m.state = applyStateUpdate(m.state, update.data);
        return toolResult(call, `state updated: ${summarizeState(m.state)}`);
      }
      case 'escalate_to_human': {
        const ask = stateTools.escalate_to_human.input.safeParse(call.input);
        if (!ask.success) return toolResult(call, `invalid escalate_to_human input: ${describeZodError(ask.error)}`, true);
        const o = await escalate('model_request', ask.data.reason, ask.data.question);
        if (o.decision === 'stop') return o;
        if (o.decision === 'deny') return toolResult(call, `A person declined: ${o.message}`, true);
        return toolResult(call, o.decision === 'approve' ? `A person approved${o.message ? `: ${o.message}` : '.'}` : `A person replied: ${o.message}`);
      }
      case 'finish': {
        const finish = stateTools.finish.input.safeParse(call.input);
        if (!finish.success) return toolResult(call, `invalid finish input: ${describeZodError(finish.error)}`, true);
        report = finish.data.report;
        return toolResult(call, 'run finished');
      }
      default:
        return runTool({ workflowId, turn: m.counters.turn, workspace: options.workspace, call });
    }
  };

  const capReached = (): { kind: EscalationKind; text: string } | null => {
    if (m.counters.turn >= m.maxTurns) return { kind: 'turn_cap', text: `turn cap of ${m.maxTurns} reached` };
    if (m.tokenBudget !== undefined && tokensUsed(m.counters) >= m.tokenBudget) {
      return { kind: 'token_budget', text: `token budget of ${m.tokenBudget} reached (${tokensUsed(m.counters)} used)` };
    }
    return null;
  };

  setStatus('running');
  for (;;) {
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

    const reply = await askUntilAnswered();
    if (!('stopReason' in reply)) return end('stopped', `model calls kept failing; ${stoppedBy(reply)}`);

    if (reply.stopReason === 'refusal') {
      if (options.escalation.onRefusal === 'stop') return end('stopped', 'the model refused to continue');
      const o = await escalate('refusal', 'the model refused to continue', 'Reply with guidance for the model, or stop the run.');
      if (o.decision !== 'reply') return end('stopped', `the model refused; ${stoppedBy(o)}`);
      m.append = withText(reply.toolCalls.map((c) => toolResult(c, 'not run: the reply was a refusal', true)), `A person says: ${o.message}`);
      continue;
    }
    if (reply.stopReason === 'model_context_window_exceeded') {
      return end('failed', 'the context window was exceeded; lower the compaction trigger');
    }
    if (!['tool_use', 'end_turn', 'stop_sequence', 'max_tokens'].includes(reply.stopReason ?? '')) {
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

    // Every tool_use gets its tool_result, in order, even those after `finish` (never orphaned).
    const results: PendingBlock[] = [];
    for (const call of reply.toolCalls) {
      if (report !== undefined) {
        results.push(toolResult(call, 'not run: the run had finished', true));
        continue;
      }
      const result = await runCall(call);
      if (!('type' in result)) return end('stopped', stoppedBy(result));
      results.push(result);
    }
    m.counters = countToolResults(m.counters, results);
    if (report !== undefined) return end('completed');
    m.append = reply.stopReason === 'max_tokens' ? withText(results, CUT_OFF) : results;

    if (m.counters.failuresInRow >= options.escalation.maxConsecutiveFailures) {
      const o = await escalate('failures', `${m.counters.failuresInRow} tool errors in a row`, 'Reply with guidance for the model, approve to carry on, or stop the run.');
      if (o.decision === 'stop') return end('stopped', stoppedBy(o));
      m.counters = { ...m.counters, failuresInRow: 0 };
      if (o.decision === 'reply') m.append = withText(m.append, `A person says: ${o.message}`);
    }
  }
}
