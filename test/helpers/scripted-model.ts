/**
 * A scripted model for the fast lane (test/loop): the model activities answer from a queue of
 * replies per run, and every input the workflow sent is recorded, so a test drives each branch of
 * the agent loop and asserts what the loop asked next. The workflow code, the Temporal dev server
 * and the worker are real; only the activities are scripted.
 */
import type { WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll } from 'vitest';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import type {
  EscalationNotice,
  LonghaulActivities,
  ModelCallInput,
  ModelCallResult,
  PendingBlock,
  ToolCall,
  ToolRunInput,
} from '../../common/contracts.js';
import type { AgentRunWorkflow } from '../../common/messages.js';
import { BEGIN, CUT_OFF, NUDGE, textBlock, WRAP_UP } from '../../workflows/blocks.js';
import { startRun } from '../../client/connect.js';
import { ensureSearchAttributes } from '../../worker/search-attributes.js';
import { discardWorkflowSpans } from '../../worker/telemetry.js';
import type { Escalation, EscalationKind } from '../../common/escalation.js';
import { progressQuery, type Progress } from '../../common/messages.js';
import { admitOptions } from '../../common/admission.js';
import { callCost } from '../../common/cost.js';
import type { AgentDefaults, RunOptionsInput } from '../../common/options.js';
import { applyStateUpdate, initialState, type AgentState } from '../../common/state.js';

export type Handle = WorkflowHandle<AgentRunWorkflow>;

/** The one webhook origin the scripted worker allows. */
export const SCRIPTED_WEBHOOK_ORIGIN = 'https://hooks.invalid';

/** A tool call the model makes, and what the scripted runTool answers when the workflow runs it. */
export interface ScriptedCall extends ToolCall {
  result: { content: string; isError?: true };
}

/** One scripted model reply; unset fields get a plain reply's values. */
export interface Reply {
  /** Default: `tool_use` with calls, `end_turn` without. */
  stopReason?: string | null;
  text?: string;
  calls?: ScriptedCall[];
  usage?: ModelCallResult['usage'];
  compaction?: ModelCallResult['compaction'];
  /** The call answered a transcript that starts with an on-demand block. */
  onDemand?: true;
  refusal?: ModelCallResult['refusal'];
}

/** What one model activity call does: reply, or fail (non-retryable unless said otherwise). */
export type Step = { reply: Reply } | { fail: string; retryable?: boolean; type?: string };

const DEFAULT_USAGE: ModelCallResult['usage'] = { inputTokens: 100, outputTokens: 10 };
/** What an exhausted script answers: the run fails at once with this unexpected stop reason. */
const EXHAUSTED = 'script exhausted';

let callSeq = 0;
export function call(
  name: string,
  input: unknown = {},
  opts: { result?: string; isError?: boolean; sideEffectFree?: boolean; stateUpdate?: ToolCall['stateUpdate'] } = {},
): ScriptedCall {
  return {
    id: `toolu_${++callSeq}`,
    name,
    input,
    ...(opts.sideEffectFree ? { sideEffectFree: true as const } : {}),
    ...(opts.stateUpdate ? { stateUpdate: opts.stateUpdate } : {}),
    result: { content: opts.result ?? `${name} done`, ...(opts.isError ? { isError: true as const } : {}) },
  };
}
export const finishCall = (report: string) => call('finish', { report });

export const reply = (r: Reply): Step => ({ reply: r });
export const say = (text: string, stopReason = 'end_turn'): Step => reply({ text, stopReason });
export const use = (...calls: ScriptedCall[]): Step => reply({ calls });
export const finish = (report: string): Step => use(finishCall(report));
export const fails = (message: string, opts: { retryable?: boolean; type?: string } = {}): Step => ({
  fail: message,
  ...opts,
});

/** A model activity call as the workflow made it, with the reply it got (absent when the step failed). */
export interface Sent {
  activity: 'callModel' | 'compactTranscript';
  input: ModelCallInput;
  reply?: ModelCallResult;
}

/** The tool result the workflow gives the model for a call the scripted runTool ran. */
export const resultOf = (c: ScriptedCall): PendingBlock => ({
  type: 'tool_result',
  tool_use_id: c.id,
  content: c.result.content,
  ...(c.result.isError ? { is_error: true } : {}),
});

export class ScriptedModel {
  private readonly queues = new Map<string, Step[]>();
  private readonly sentBy = new Map<string, Sent[]>();
  private readonly toolsBy = new Map<string, ToolRunInput[]>();
  private readonly results = new Map<string, ScriptedCall['result']>();
  /** The states the scripted model calls "stored", by their references, for loadState. */
  private readonly states = new Map<string, AgentState>();
  /** Runs whose next loadState calls fail (as a lost store would), and how many. */
  private readonly lostStates = new Map<string, number>();
  readonly notices: EscalationNotice[] = [];
  /** The results storeResult was given, by the reference it returned. */
  readonly storedResults = new Map<string, string>();

  constructor(private readonly agents: Record<string, AgentDefaults> = {}) {}

  /** Queues replies for a run (a workflowId: a chain of continued runs shares its queue). */
  script(workflowId: string, steps: Step[]): void {
    this.queues.set(workflowId, [...(this.queues.get(workflowId) ?? []), ...steps]);
  }
  sent(workflowId: string): Sent[] {
    return this.sentBy.get(workflowId) ?? [];
  }
  /** The next `times` reads of a run's carried state fail for good, as with a lost store. */
  loseState(workflowId: string, times: number): void {
    this.lostStates.set(workflowId, times);
  }
  toolRuns(workflowId: string): ToolRunInput[] {
    return this.toolsBy.get(workflowId) ?? [];
  }

  private answer(activity: Sent['activity'], input: ModelCallInput): ModelCallResult {
    const sent = this.sentBy.get(input.workflowId) ?? [];
    this.sentBy.set(input.workflowId, sent);
    const record: Sent = { activity, input };
    sent.push(record);
    const step = this.queues.get(input.workflowId)?.shift() ?? { reply: { stopReason: EXHAUSTED } };
    if ('fail' in step) {
      throw ApplicationFailure.create({
        type: step.type ?? 'ScriptedFailure',
        message: step.fail,
        nonRetryable: !step.retryable,
      });
    }
    const r = step.reply;
    const calls = r.calls ?? [];
    // The run's own name in the ref: concurrent tests share this model.
    const stateRef = input.state ? (`sha256:state#${input.workflowId}#${sent.length}` as const) : null;
    if (input.state && stateRef) {
      const base = (input.state.ref && this.states.get(input.state.ref)) || initialState();
      this.states.set(stateRef, input.state.updates.reduce(applyStateUpdate, base));
    }
    for (const c of calls) this.results.set(`${input.workflowId}/${c.id}`, c.result);
    const usage = r.usage ?? DEFAULT_USAGE;
    // Priced as the model activity prices it: at the list price of the model the run names.
    const costNanos = callCost(input.model, usage);
    record.reply = {
      // Distinct per call, so a test can see that the workflow sends back the head it was given.
      head: `sha256:${input.workflowId}#${sent.length}`,
      instructionsRef: 'sha256:instructions',
      stateRef,
      stopReason: r.stopReason === undefined ? (calls.length ? 'tool_use' : 'end_turn') : r.stopReason,
      usage,
      ...(costNanos !== undefined ? { costNanos } : {}),
      compaction: r.compaction ?? null,
      text: r.text ?? '',
      toolCalls: calls.map(({ result: _, ...toolCall }) => toolCall),
      ...(r.onDemand ? { onDemand: r.onDemand } : {}),
      ...(r.refusal ? { refusal: r.refusal } : {}),
    };
    return record.reply;
  }

  activities(): LonghaulActivities {
    return {
      callModel: async (input) => this.answer('callModel', input),
      compactTranscript: async (input) => this.answer('compactTranscript', input),
      runTool: async (input) => {
        this.toolsBy.set(input.workflowId, [...this.toolRuns(input.workflowId), input]);
        const result = this.results.get(`${input.workflowId}/${input.call.id}`) ?? {
          content: `no scripted result for ${input.call.id}`,
          isError: true,
        };
        return {
          type: 'tool_result',
          tool_use_id: input.call.id,
          content: result.content,
          ...(result.isError ? { is_error: true } : {}),
        };
      },
      notifyEscalation: async (notice) => {
        this.notices.push(notice);
      },
      loadState: async (ref) => {
        const run = ref.split('#')[1] ?? '';
        const lost = this.lostStates.get(run) ?? 0;
        if (lost > 0) {
          this.lostStates.set(run, lost - 1);
          throw ApplicationFailure.nonRetryable(`transcript store has no blob ${ref}`, 'BlobMissing');
        }
        const state = this.states.get(ref);
        if (!state) throw ApplicationFailure.nonRetryable(`no scripted state ${ref}`, 'ScriptedFailure');
        return state;
      },
      agentProfile: async (name) => this.agentDefaults(name),
      // A large result "stored": its reference names the text's length, which a test can check.
      storeResult: async ({ toolUseId, content, isError }) => {
        const contentRef = `sha256:result#${toolUseId}#${content.length}` as const;
        this.storedResults.set(contentRef, content);
        return { type: 'tool_result', tool_use_id: toolUseId, contentRef, ...(isError ? { is_error: true } : {}) };
      },
      // The worker's admission without a file system: policies and webhook as a worker checks them.
      admitRun: async (options, admission) => {
        const agent = options.agent;
        const admitted = admitOptions(
          options,
          {
            ...(agent !== undefined ? { agent: { name: agent, defaults: this.agentDefaults(agent) } } : {}),
            workerPolicies: {},
            tools: [],
            webhookAllow: [SCRIPTED_WEBHOOK_ORIGIN],
            served: Object.keys(this.agents),
          },
          admission,
        );
        if (!admitted.ok) throw ApplicationFailure.nonRetryable(admitted.error, 'InvalidRunOptions');
        return admitted.options;
      },
    };
  }

  private agentDefaults(name: string): AgentDefaults {
    const defaults = this.agents[name];
    if (!defaults) throw ApplicationFailure.nonRetryable(`unknown agent ${JSON.stringify(name)}`, 'UnknownAgent');
    return defaults;
  }
}

// Worker lifecycle chatter at INFO drowns test output; warnings and errors still show.
Runtime.install({ logger: new DefaultLogger('WARN') });

/**
 * For every fast-lane test: a broken branch mostly leaves a run waiting (for a person, or
 * forever re-asking), so a test fails after a minute rather than at the suite's five.
 */
export const FAST = { timeout: 60_000 };

/** One dev server and one worker on the scripted activities, for one test file. */
export interface LoopEnv {
  readonly env: TestWorkflowEnvironment;
  readonly model: ScriptedModel;
  /** Starts a run through the public `startRun`, on its own workflowId unless given one, with its script queued. */
  start(steps: Step[], options?: Partial<RunOptionsInput>, run?: { workflowId?: string }): Promise<Handle>;
}

/**
 * The file's loop environment: started before its tests, closed after them; usable inside tests.
 * `real` replaces scripted activities with real ones (the real runTool, for the ledger).
 */
export function useLoopEnv(
  agents: Record<string, AgentDefaults> = {},
  real: Partial<LonghaulActivities> = {},
): LoopEnv {
  let loop: (LoopEnv & { close(): Promise<void> }) | undefined;
  beforeAll(async () => {
    loop = await startLoopEnv(agents, real);
  });
  afterAll(async () => {
    await loop?.close();
  });
  const ready = () => {
    if (!loop) throw new Error('the loop environment starts in beforeAll: use it inside a test');
    return loop;
  };
  return {
    get env() {
      return ready().env;
    },
    get model() {
      return ready().model;
    },
    start: (steps, options, run) => ready().start(steps, options, run),
  };
}

let runSeq = 0;
async function startLoopEnv(
  agents: Record<string, AgentDefaults>,
  real: Partial<LonghaulActivities>,
): Promise<LoopEnv & { close(): Promise<void> }> {
  const env = await TestWorkflowEnvironment.createLocal({
    server: { executable: { type: 'existing-path', path: process.env.TEMPORAL_CLI! } },
  });
  const taskQueue = `loop-${Math.random().toString(36).slice(2, 8)}`;
  await ensureSearchAttributes(env.nativeConnection, 'default');
  const model = new ScriptedModel(agents);
  const worker = await Worker.create({
    connection: env.nativeConnection,
    namespace: 'default',
    taskQueue,
    // The bundle global-setup wrote, with the tracing interceptors in it: they need the sinks.
    workflowBundle: { codePath: process.env.LONGHAUL_WORKFLOW_BUNDLE! },
    sinks: discardWorkflowSpans,
    activities: { ...model.activities(), ...real },
  });
  const running = worker.run();
  return {
    env,
    model,
    async start(steps, options = {}, { workflowId = `loop-${++runSeq}-${Date.now()}` } = {}) {
      model.script(workflowId, steps);
      return startRun(
        env.client,
        { task: 'a scripted task', workspace: '/scripted-workspace', ...options },
        { taskQueue, workflowId },
      );
    },
    async close() {
      worker.shutdown();
      await running;
      await env.teardown();
    },
  };
}

/** Polls `check` until it gives a value; fails after a generous deadline with what `describe` says of the last try. */
export async function waitFor<T>(
  check: () => Promise<T | undefined> | T | undefined,
  describe = () => '',
  deadlineMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline)
      throw new Error(`condition not met within ${deadlineMs} ms${describe() ? `: ${describe()}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Polls the progress query until `test` holds. */
export async function until(handle: Handle, test: (p: Progress) => boolean): Promise<Progress> {
  let last: Progress | undefined;
  return waitFor(
    async () => {
      last = await handle.query(progressQuery);
      return test(last) ? last : undefined;
    },
    () => `progress ${JSON.stringify(last)}`,
  );
}

/** Waits for an escalation of this kind to be open and returns it. */
export const opened = async (handle: Handle, kind: EscalationKind): Promise<Escalation> =>
  (await until(handle, (p) => p.escalation?.kind === kind)).escalation!;

/** The loop's own words to the model, as a test expects to see them sent (workflows/agent.ts). */
export const LOOP_TEXT = { begin: BEGIN, nudge: NUDGE, cutOff: CUT_OFF, wrapUp: WRAP_UP };
export { textBlock };
/** A tool error the workflow itself gives the model for a call (refused, declined, not run). */
export const toolError = (c: ToolCall, content: string): PendingBlock => ({
  type: 'tool_result',
  tool_use_id: c.id,
  content,
  is_error: true,
});
