import { z } from 'zod';
import type { StateUpdate } from '../common/state.js';

/** What a tool hands back: text for the model, and whether it is an error the model should act on. */
export interface ToolOutput {
  content: string;
  isError?: boolean;
}

export interface ToolContext {
  /** The run's workspace directory; file tools never reach outside it. */
  workspace: string;
  /** workflowId/turn/toolUseId: the same call retried or replayed carries the same key. */
  idempotencyKey: string;
}

export interface ToolDefinition<Input extends z.ZodType = z.ZodType> {
  name: string;
  description: string;
  input: Input;
  /** Side-effecting tools record their result under the idempotency key before reporting. */
  sideEffects: boolean;
  run: (input: z.output<Input>, ctx: ToolContext) => Promise<ToolOutput>;
}

export function defineTool<Input extends z.ZodType>(def: ToolDefinition<Input>): ToolDefinition<Input> {
  return def;
}

/** The shape the Messages API takes in `tools`; the JSON Schema is derived from zod, never written twice. */
export interface ToolSchema {
  name: string;
  description: string;
  input_schema: { type: 'object'; [key: string]: unknown };
}

export function toToolSchema(def: { name: string; description: string; input: z.ZodType }): ToolSchema {
  const { $schema: _ignored, ...schema } = z.toJSONSchema(def.input, { io: 'input' }) as Record<string, unknown>;
  return { name: def.name, description: def.description, input_schema: { ...schema, type: 'object' } };
}

/** What one agent's runs may call: its tools by name, and the schemas the model is shown. */
export interface Toolset {
  registry: ReadonlyMap<string, ToolDefinition>;
  schemas: ToolSchema[];
  /** The agent's own state lists, and update_state's input checked against them; absent without lists. */
  state?: { lists: string[]; update: z.ZodType<StateUpdate> };
}
