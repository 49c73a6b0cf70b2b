import { z } from 'zod';
import { StateUpdate } from './state.js';

/**
 * Tools that only change workflow state. They run inside the workflow (deterministic, no I/O),
 * so they cost no activity and no extra history events.
 */
export const stateTools = {
  update_state: {
    name: 'update_state',
    description:
      'Record progress in your structured state: items done, findings, decisions, errors. ' +
      'The state is shown to you on every turn and survives context compaction; the conversation does not.',
    input: StateUpdate,
  },
  escalate_to_human: {
    name: 'escalate_to_human',
    description:
      'Ask a person and wait for the answer: for a decision you should not take alone, missing access, or ' +
      'a situation you cannot resolve. The run pauses durably until a person replies, approves, declines or stops it.',
    input: z
      .object({
        reason: z.string().min(1, 'reason is empty').max(2_000).describe('why a person is needed'),
        question: z.string().min(1, 'question is empty').max(4_000).describe('what exactly the person should answer'),
      })
      .strict(),
  },
  finish: {
    name: 'finish',
    description: 'End the run with your final report. Call it once, when the task is complete.',
    input: z.object({ report: z.string().min(1, 'report is empty') }).strict(),
  },
} as const;

export type StateToolName = keyof typeof stateTools;
export const isStateTool = (name: string): name is StateToolName => Object.hasOwn(stateTools, name);
