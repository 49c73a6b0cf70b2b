import type { ModelCallInput } from '../../common/contracts.js';
import { DEFAULT_MODEL } from '../../common/models.js';
import { RunOptions } from '../../common/options.js';

/** The first model call of a minimal run, for calling the model activity directly. */
export const modelCallInput = (workflowId: string, over: Partial<ModelCallInput> = {}): ModelCallInput => ({
  workflowId,
  turn: 1,
  model: DEFAULT_MODEL,
  maxOutputTokens: 1000,
  instructions: { systemPrompt: 'You are a test.', task: 'Reply with: ok' },
  state: null,
  compaction: RunOptions.parse({ task: 'x', workspace: '/tmp' }).compaction,
  head: null,
  append: [{ type: 'text', text: 'Begin.' }],
  ...over,
});
