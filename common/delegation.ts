import { z } from 'zod';
import type { CarriedMemory } from './carried-memory.js';
import { formatUsd } from './cost.js';
import { addCounters, tokensUsed, type Counters } from './counters.js';
import { cutText } from './input-bounds.js';
import { MAX_TASK_CHARS, type RunOptions, type RunOptionsInput } from './options.js';

/**
 * Sub-agents: the built-in `delegate` tool starts a child `agentRun` (its own compaction, state,
 * caps and continue-as-new chain) whose report comes back as the tool result
 * (workflows/delegate.ts). Offered only to runs with `delegation` options.
 */

export const DELEGATE_TOOL = 'delegate';

export const delegateTool = {
  name: DELEGATE_TOOL,
  description:
    'Start a sub-agent on a part of the task: it runs on its own (own context, state and caps) and its final ' +
    'report comes back as this tool result. Several delegate calls in one reply run at the same time.',
  input: z
    .object({
      agent: z.string().min(1, 'agent is empty').describe('the agent profile the sub-agent runs as'),
      task: z.string().trim().min(1, 'task is empty').max(MAX_TASK_CHARS).describe('what the sub-agent must do'),
      workspace: z
        .string()
        .min(1)
        .max(4_096)
        .optional()
        .describe('a subdirectory of your workspace to confine the sub-agent to (default: your whole workspace)'),
      budget_share: z
        .number()
        .gt(0)
        .max(1)
        .optional()
        .describe('the share (0 to 1) of your remaining token and dollar budget the sub-agent may spend'),
    })
    .strict(),
} as const;
export type DelegateInput = z.output<typeof delegateTool.input>;

export type ChildStatus = 'running' | 'completed' | 'stopped' | 'failed' | 'cancelled';

/** What a parent keeps of one child, in its memory (carried by continue-as-new). */
export interface ChildRecord {
  /** The child's workflow id: childWorkflowId(parent, seq). */
  workflowId: string;
  /** The delegate call that started it. */
  toolUseId: string;
  agent: string;
  /** The task's first line, cut (the whole task is in the child's own input). */
  task: string;
  status: ChildStatus;
  startedAt: string;
  /** The child's totals (its chain and its own children), as its result gave them; zeros while it runs. */
  counters: Counters;
  /** Why it stopped or failed. */
  reason?: string;
  /** What of the parent's budget it was given (held back from the parent's other children while it runs). */
  given?: ChildBudget;
}

/** A child's share of its parent's budget: only what the parent itself is limited by. */
export interface ChildBudget {
  tokenBudget?: number;
  budgetNanos?: number;
}

/** A child's workflow id derives from its parent's, so that a run's children are found from it. */
export const childWorkflowId = (parentWorkflowId: string, seq: number): string => `${parentWorkflowId}.sub-${seq}`;

/** What a child knows of its parent (AgentRunInput.parent). */
export interface ParentLink {
  workflowId: string;
  /** The parent's depth plus one: a run started by a person is at 0. */
  depth: number;
  /** The parent's workspace: the child's must lead inside it, links followed (admission). Absent: not checked. */
  workspace?: string;
}

/** A delegate call refused: the one line the model reads as the tool error. */
export interface Refusal {
  ok: false;
  error: string;
}
const refuse = (error: string): Refusal => ({ ok: false, error });

/**
 * The parent's workspace joined with a subdirectory of it, the POSIX way (workflow code has no
 * node:path). Absolute paths, `..` and empty segments are refused: a child works inside its
 * parent's workspace; `.` segments and one trailing slash mean nothing and are dropped. The worker
 * resolves the result through its roots again when it admits the child.
 */
export function joinWorkspace(parent: string, sub: string | undefined): { ok: true; workspace: string } | Refusal {
  if (sub === undefined) return { ok: true, workspace: parent };
  const bad = (why: string) => refuse(`workspace ${JSON.stringify(cutText(sub, 200))}: ${why}`);
  if (sub.startsWith('/')) return bad('give a subdirectory of your workspace, relative to it, not an absolute path');
  const segments = (sub.endsWith('/') ? sub.slice(0, -1) : sub).split('/');
  if (segments.includes('..')) return bad('.. is not allowed: a sub-agent works inside your workspace');
  if (segments.includes('')) return bad('has an empty segment (//)');
  const kept = segments.filter((s) => s !== '.');
  const base = parent.length > 1 && parent.endsWith('/') ? parent.slice(0, -1) : parent;
  return { ok: true, workspace: kept.length ? `${base === '/' ? '' : base}/${kept.join('/')}` : parent };
}

/** What a parent's memory says of its spending and children (RunMemory and CarriedMemory both have it). */
export type DelegatingMemory = Pick<
  CarriedMemory,
  'counters' | 'tokenBudget' | 'budgetNanos' | 'children' | 'childSeq'
>;

/** The run's own counters plus every child's totals (a running child's are zeros until it ends). */
export const totalsOf = (counters: Counters, children: readonly ChildRecord[] = []): Counters =>
  children.reduce((sum, child) => addCounters(sum, child.counters), counters);

/**
 * What is left of the parent's token and dollar budget for a new child: the budget less its own
 * and its closed children's spending, less what its running children were given. Absent where the
 * parent has no such budget.
 */
export function remainingBudget(memory: DelegatingMemory): ChildBudget {
  const children = memory.children ?? [];
  const totals = totalsOf(memory.counters, children);
  const running = children.filter((c) => c.status === 'running');
  const held = (f: (b: ChildBudget) => number | undefined) =>
    running.reduce((n, c) => n + (c.given ? (f(c.given) ?? 0) : 0), 0);
  return {
    ...(memory.tokenBudget !== undefined
      ? { tokenBudget: Math.max(0, memory.tokenBudget - tokensUsed(totals) - held((b) => b.tokenBudget)) }
      : {}),
    ...(memory.budgetNanos !== undefined
      ? { budgetNanos: Math.max(0, memory.budgetNanos - totals.costNanos - held((b) => b.budgetNanos)) }
      : {}),
  };
}

/**
 * A delegate call's child: its options from the parent's (already admitted, so explicit) and the
 * call's input, and the budget it is given; or why the call is refused. The child's agent's own
 * profile is merged under these by the worker's admission, which narrows (never refuses) what the
 * child's agent does not allow (common/admission.ts).
 */
export function childOptions(
  parent: RunOptions,
  memory: DelegatingMemory,
  input: DelegateInput,
): { ok: true; options: RunOptionsInput; given: ChildBudget } | Refusal {
  const delegation = parent.delegation;
  if (!delegation) return refuse(`${DELEGATE_TOOL} is not available in this run`);
  if (!delegation.agents.includes(input.agent))
    return refuse(
      `agent ${JSON.stringify(cutText(input.agent, 64))} is not one this run may delegate to; it may: ${delegation.agents.join(', ')}`,
    );
  const started = memory.childSeq ?? 0;
  if (started >= delegation.maxChildren)
    return refuse(
      `this run has started ${started} sub-agents, its limit (delegation.maxChildren); do the rest yourself`,
    );
  const joined = joinWorkspace(parent.workspace, input.workspace);
  if (!joined.ok) return joined;
  const share = Math.min(input.budget_share ?? delegation.maxBudgetShare, delegation.maxBudgetShare);
  const left = remainingBudget(memory);
  const given: ChildBudget = {};
  if (left.tokenBudget !== undefined) {
    given.tokenBudget = Math.floor(left.tokenBudget * share);
    if (given.tokenBudget < 1) return refuse('no token budget is left to give a sub-agent');
  }
  if (left.budgetNanos !== undefined) {
    given.budgetNanos = Math.floor(left.budgetNanos * share);
    if (given.budgetNanos < 1) return refuse('no dollar budget is left to give a sub-agent');
  }
  return {
    ok: true,
    given,
    options: {
      task: input.task,
      workspace: joined.workspace,
      agent: input.agent,
      toolPolicies: parent.toolPolicies,
      escalation: parent.escalation,
      maxParallelToolCalls: parent.maxParallelToolCalls,
      // The parent's deployment's choice of how soon a lost worker's call moves (RunOptions).
      heartbeatTimeoutMs: parent.heartbeatTimeoutMs,
      ...(given.tokenBudget !== undefined ? { tokenBudget: given.tokenBudget } : {}),
      ...(given.budgetNanos !== undefined ? { budgetUsd: given.budgetNanos / 1e9 } : {}),
      // One level shallower; none at the last level.
      ...(delegation.maxDepth > 1 ? { delegation: { ...delegation, maxDepth: delegation.maxDepth - 1 } } : {}),
    },
  };
}

/** What a ChildRecord keeps of a task: its first line, cut. */
export const taskLine = (task: string): string => cutText(task.trim().split('\n', 1)[0]!.trim(), 200);

/** A child's spending in a line: its dollars, or that its calls had no price. */
function costText(c: Counters): string {
  if (c.unpricedCalls && !c.costNanos) return 'cost unknown (no price)';
  return `${formatUsd(c.costNanos)}${c.unpricedCalls ? ` (+${c.unpricedCalls} unpriced calls)` : ''}`;
}

/**
 * The delegate call's result once its child ended. Completed: a first line naming the child, its
 * turns and cost, a blank line, then its report. Otherwise an error saying why, so the model can
 * do the part itself or try again.
 */
export function childEndText(child: ChildRecord, report: string | undefined): { content: string; isError: boolean } {
  const who = `sub-agent ${child.workflowId} (agent ${child.agent})`;
  const spent = `${child.counters.turn} turns, ${costText(child.counters)}`;
  if (child.status === 'completed')
    return { content: `${who} completed: ${spent}\n\n${report ?? '(it gave no report)'}`, isError: false };
  const why = child.reason ? `: ${child.reason}` : '';
  return { content: `${who} ${child.status}${why} (${spent}); it gave no report`, isError: true };
}
