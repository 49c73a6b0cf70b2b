import { z } from 'zod';
import type { Counters } from './counters.js';
import { MAX_TASK_CHARS } from './options.js';

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
}

/** A child's workflow id derives from its parent's, so that a run's children are found from it. */
export const childWorkflowId = (parentWorkflowId: string, seq: number): string => `${parentWorkflowId}.sub-${seq}`;

/** What a child knows of its parent (AgentRunInput.parent). */
export interface ParentLink {
  workflowId: string;
  /** The parent's depth plus one: a run started by a person is at 0. */
  depth: number;
}
