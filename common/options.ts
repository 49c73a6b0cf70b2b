import { z } from 'zod';
import { DEFAULT_COMPACTION_TRIGGER, MAX_COMPACTION_INSTRUCTIONS, MIN_COMPACTION_TRIGGER } from './messages-api.js';
import { DEFAULT_MODEL } from './models.js';
import { workspaceNameProblem } from './workspace.js';

/** A task travels in workflow input and history: keep it far from Temporal's 2 MiB blob limit. */
export const MAX_TASK_CHARS = 100_000;

export const AGENT_NAME = /^[A-Za-z0-9][\w-]{0,63}$/;

export const CompactionOptions = z
  .object({
    enabled: z.boolean().default(true),
    trigger: z
      .number()
      .int()
      .min(MIN_COMPACTION_TRIGGER, `compaction trigger must be at least ${MIN_COMPACTION_TRIGGER} input tokens`)
      .default(DEFAULT_COMPACTION_TRIGGER),
    instructions: z.string().max(MAX_COMPACTION_INSTRUCTIONS).optional(),
    pauseAfterCompaction: z.boolean().default(false),
  })
  .strict();

export const ToolPolicy = z.enum(['allow', 'approve', 'deny']);
export type ToolPolicy = z.infer<typeof ToolPolicy>;

/** Built-in defaults, where neither the agent nor the worker sets a tool's policy. Writing asks a person first. */
export const DEFAULT_TOOL_POLICIES: Readonly<Record<string, ToolPolicy>> = { write_file: 'approve' };

/** allow < approve < deny: a run may move a tool's policy right of its ceiling, never left. */
const POLICY_RANK: Readonly<Record<ToolPolicy, number>> = { allow: 0, approve: 1, deny: 2 };
export const isWiderPolicy = (policy: ToolPolicy, than: ToolPolicy): boolean => POLICY_RANK[policy] < POLICY_RANK[than];
export const stricterPolicy = (a: ToolPolicy, b: ToolPolicy): ToolPolicy => (isWiderPolicy(a, b) ? b : a);

/** A tool's policy in a set of policies (a run's, an agent's, a worker's), with the built-in fallback. */
export const policyIn = (policies: Readonly<Record<string, ToolPolicy>> | undefined, tool: string): ToolPolicy =>
  policies?.[tool] ?? DEFAULT_TOOL_POLICIES[tool] ?? 'allow';

export const EscalationOptions = z
  .object({
    /** At the turn cap, token budget or dollar budget: ask a person, stop, or give the model one last turn to finish. */
    onCap: z.enum(['escalate', 'stop', 'wrap-up']).default('escalate'),
    onRefusal: z.enum(['escalate', 'stop']).default('escalate'),
    /** Consecutive failures (tool errors, non-retryable model errors) before asking a person. */
    maxConsecutiveFailures: z.number().int().min(1).max(1_000).default(5),
    /** How long an escalation waits for an answer, on a durable timer. */
    timeoutSeconds: z
      .number()
      .int()
      .min(1)
      .max(365 * 24 * 3600)
      .default(24 * 3600),
    /** What applies when nobody answers in time: deny the request where that makes sense, else stop. */
    onTimeout: z.enum(['deny', 'stop']).default('deny'),
    /** Receives an HTTP POST of the escalation as JSON when one opens. */
    webhookUrl: z.string().url('webhookUrl is not a URL').optional(),
  })
  .strict();

/**
 * Sub-agents (the built-in `delegate` tool, common/delegation.ts): offered only to runs whose agent
 * profile sets this. A run may narrow it, never widen it (common/admission.ts); a child gets it
 * one level shallower, and none at the last level.
 */
export const DelegationOptions = z
  .object({
    /** The agent profiles a child may run as: each one the worker serves. */
    agents: z
      .array(z.string().regex(AGENT_NAME, 'delegation.agents: letters, digits, - or _ (at most 64)'))
      .min(1, 'delegation.agents is empty')
      .max(32),
    /** Levels of sub-agents below this run: 1 lets its children delegate no further. */
    maxDepth: z.number().int().min(1).max(4).default(1),
    /** Children running at once; the reply's further delegate calls wait for a slot. */
    maxAtOnce: z.number().int().min(1).max(32).default(8),
    /** Children over the whole chain; a delegate call past it is a tool error. */
    maxChildren: z.number().int().min(1).max(1_000).default(32),
    /** The most of the run's remaining token and dollar budget one child may be given (0 to 1). */
    maxBudgetShare: z.number().gt(0).max(1).default(0.5),
  })
  .strict();
export type DelegationOptions = z.output<typeof DelegationOptions>;

export const RunOptions = z
  .object({
    task: z
      .string()
      .trim()
      .min(1, 'task is empty')
      .max(MAX_TASK_CHARS, `task is longer than ${MAX_TASK_CHARS} characters`),
    model: z.string().min(1).default(DEFAULT_MODEL),
    maxTurns: z.number().int().positive().max(100_000).default(500),
    maxOutputTokens: z.number().int().positive().max(64_000).default(4_096),
    systemPrompt: z
      .string()
      .max(MAX_TASK_CHARS)
      .default('You are a careful agent working through a long task with tools.'),
    /**
     * Directory the workspace tools are confined to: relative to one of the worker's workspace
     * roots, or an absolute path inside one (tools/workspace-roots.ts checks where it leads).
     */
    workspace: z
      .string()
      .min(1, 'workspace is empty')
      .max(4_096, 'workspace is longer than 4096 characters')
      .superRefine((workspace, ctx) => {
        const problem = workspaceNameProblem(workspace);
        if (problem) ctx.addIssue({ code: 'custom', message: `${JSON.stringify(workspace)} ${problem}` });
      }),
    compaction: CompactionOptions.default(() => CompactionOptions.parse({})),
    /** Show the structured state to the model on every call. Off only to show what it buys. */
    injectState: z.boolean().default(true),
    /**
     * Prompt caching (activities/request-layout.ts): 'on' caches the stable prefix and each turn's
     * messages, the state shown after the last breakpoint; 'off' sets no cache_control; 'system-state'
     * caches with the state in the system prompt, a measured control that rewrites the cache every turn.
     */
    promptCache: z.enum(['on', 'off', 'system-state']).default('on'),
    /** Input + output + compaction tokens the run may spend; unlimited when absent. */
    tokenBudget: z.number().int().positive().optional(),
    /**
     * Dollars the chain may spend, at the worker's prices (common/cost.ts); unlimited when absent.
     * Reached like the token budget: `escalation.onCap` says what happens.
     */
    budgetUsd: z.number().positive('budgetUsd must be more than 0').max(1_000_000).optional(),
    toolPolicies: z.record(z.string(), ToolPolicy).default({}),
    escalation: EscalationOptions.default(() => EscalationOptions.parse({})),
    /**
     * Turns per Temporal run: at the latest after this many the run continues as new, so that no
     * run's history nears Temporal's limits. It also continues as new after each compaction and
     * whenever the server suggests it.
     */
    continueAsNewEvery: z.number().int().min(10).max(5_000).default(500),
    /** Consecutive model replies without a tool call before the run gives up. */
    maxIdleReplies: z.number().int().min(1).max(20).default(3),
    /**
     * An agent profile the workers serve (`defineAgent`): its tools, and defaults for every option
     * above that the run does not set. Absent: the built-in workspace agent.
     */
    agent: z.string().regex(AGENT_NAME, 'agent must be letters, digits, - or _ (at most 64)').optional(),
    /**
     * Calls of one reply that may run at the same time (read-only ones, delegate calls, tools that
     * declare `concurrent`) run this many at once at most (workflows/tool-calls.ts).
     */
    maxParallelToolCalls: z.number().int().min(1).max(32).default(8),
    /**
     * How long a model call or a side-effecting tool call may go without a heartbeat before the
     * server gives it to another worker: what a worker (a host) lost in the middle of one costs.
     * Heartbeats go every fifth of it, at most every second (activities/heartbeat.ts). 5 s holds on
     * a worker saturated by 100 runs (3 s did not); 2 s, on workers with CPU to spare, cuts a lost
     * host's cost to under 3 s (docs/benchmarks.md, "Cluster").
     */
    heartbeatTimeoutMs: z.number().int().min(1_000).max(60_000).default(5_000),
    /**
     * How long a worker may hold one of the run's workflow tasks before the server gives it to
     * another (Temporal's workflowTaskTimeout, set when the run starts; continue-as-new and
     * sub-agents keep it): what a worker lost inside one costs. Temporal's 10 s by default: 2 s
     * cut that cost from 10.3-11.0 s to 2.3-3.7 s on workers with CPU to spare, and timed out
     * 1,858 workflow tasks of 100 runs on 3 saturated workers (docs/benchmarks.md, "Cluster").
     * Set by the client that starts the run, so an agent profile's default for it does not apply.
     */
    workflowTaskTimeoutMs: z.number().int().min(1_000).max(120_000).default(10_000),
    delegation: DelegationOptions.optional(),
  })
  .strict();

export type RunOptionsInput = z.input<typeof RunOptions>;
export type RunOptions = z.output<typeof RunOptions>;

/** One line naming every problem, for the CLI and for errors thrown at submit time. */
export function describeZodError(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length ? issue.path.join('.') : 'input'}: ${issue.message}`)
    .join('; ');
}

export function parseRunOptions(input: unknown): { ok: true; options: RunOptions } | { ok: false; error: string } {
  const parsed = RunOptions.safeParse(input);
  return parsed.success ? { ok: true, options: parsed.data } : { ok: false, error: describeZodError(parsed.error) };
}

export const toolPolicy = (options: RunOptions, tool: string): ToolPolicy => policyIn(options.toolPolicies, tool);

/** The tools whose calls a run holds for a person (policy 'approve'): its own policies', and the built-in defaults'. */
export const toolsToApprove = (options: RunOptions): string[] =>
  [...new Set([...Object.keys(options.toolPolicies), ...Object.keys(DEFAULT_TOOL_POLICIES)])].filter(
    (tool) => toolPolicy(options, tool) === 'approve',
  );

/** What an agent profile may set for its runs: every run option but the run's own task, workspace and agent. */
export type AgentDefaults = Omit<RunOptionsInput, 'task' | 'workspace' | 'agent'>;

/**
 * A run's options over its agent's defaults: the run's own values win, and the nested option
 * groups merge field by field (an agent's compaction instructions survive a run's new trigger).
 * Tool policies are the exception: the agent's are a ceiling, so a run's policy applies only
 * where it is stricter (admission refuses a wider one first, with its reason: common/admission.ts).
 */
export function withAgentDefaults(defaults: AgentDefaults, run: RunOptionsInput): RunOptionsInput {
  return {
    ...defaults,
    ...run,
    ...(defaults.compaction || run.compaction ? { compaction: { ...defaults.compaction, ...run.compaction } } : {}),
    ...(defaults.escalation || run.escalation ? { escalation: { ...defaults.escalation, ...run.escalation } } : {}),
    ...(defaults.toolPolicies || run.toolPolicies
      ? { toolPolicies: narrowedPolicies(defaults.toolPolicies ?? {}, run.toolPolicies ?? {}) }
      : {}),
  };
}

/** Every tool either names: the ceiling's policy, or the run's where that is stricter. */
function narrowedPolicies(
  ceiling: Readonly<Record<string, ToolPolicy>>,
  run: Readonly<Record<string, ToolPolicy>>,
): Record<string, ToolPolicy> {
  const tools = new Set([...Object.keys(ceiling), ...Object.keys(run)]);
  return Object.fromEntries(
    [...tools].map((t) => [t, run[t] === undefined ? ceiling[t]! : stricterPolicy(run[t], policyIn(ceiling, t))]),
  );
}
