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
  finish: {
    name: 'finish',
    description: 'End the run with your final report. Call it once, when the task is complete.',
    input: z.object({ report: z.string().min(1, 'report is empty') }).strict(),
  },
} as const;

export type StateToolName = keyof typeof stateTools;
export const isStateTool = (name: string): name is StateToolName => Object.hasOwn(stateTools, name);
