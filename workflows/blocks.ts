import type { PendingBlock, ToolCall } from '../common/contracts.js';

/** The blocks the workflow itself writes into the next user message: its notes to the model and tool results. */

export const BEGIN = 'Begin the task described in the system prompt.';
/** After a reply that called no tool. */
export const NUDGE = 'Continue the task with your tools. When it is complete, call finish with your report.';
/** After a reply that stopped at max_tokens. */
export const CUT_OFF = 'Your reply was cut off at the output token limit; keep each reply shorter.';
/** At a cap whose policy is wrap-up: one last turn. */
export const WRAP_UP =
  "You have reached this run's limit. Call finish now with the best report you can give from what you have.";

export const textBlock = (text: string): PendingBlock => ({ type: 'text', text });
export const withText = (blocks: PendingBlock[] | null, text: string): PendingBlock[] => [
  ...(blocks ?? []),
  textBlock(text),
];
export const withPersonSays = (blocks: PendingBlock[] | null, message: string): PendingBlock[] =>
  withText(blocks, `A person says: ${message}`);

export const toolResult = (call: ToolCall, content: string, isError = false): PendingBlock => ({
  type: 'tool_result',
  tool_use_id: call.id,
  content,
  ...(isError ? { is_error: true } : {}),
});

export const isErrorResult = (block: PendingBlock): boolean => block.type === 'tool_result' && block.is_error === true;
