import type { ModelCallResult, ToolCall } from '../../common/contracts.js';
import { RunOptions, type RunOptionsInput } from '../../common/options.js';
import { freshMemory, type RunMemory } from '../../workflows/memory.js';

/** Options and memory for pure tests of the loop's modules. */
export const optionsWith = (overrides: Partial<RunOptionsInput> = {}): RunOptions =>
  RunOptions.parse({ task: 'audit the files', workspace: '/ws', ...overrides });

export const memoryWith = (overrides: Partial<RunMemory> = {}, options = optionsWith()): RunMemory => ({
  ...freshMemory(options),
  ...overrides,
});

export const call = (name: string, input: unknown = {}, id = `toolu_${name}`): ToolCall => ({ id, name, input });

export const reply = (overrides: Partial<ModelCallResult> = {}): ModelCallResult => ({
  head: 'sha256:head',
  instructionsRef: 'sha256:instructions',
  stateRef: null,
  stopReason: 'tool_use',
  usage: { inputTokens: 100, outputTokens: 10 },
  compaction: null,
  text: '',
  toolCalls: [],
  ...overrides,
});
