import { z } from 'zod';

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
  /**
   * Paths writes are refused under, beside `.git` which always is (common/write-protected.ts): a
   * name without `/` matches any component, one with `/` a prefix relative to the workspace.
   */
  writeProtected?: readonly string[];
}

export interface ToolDefinition<Input extends z.ZodType = z.ZodType> {
  name: string;
  description: string;
  input: Input;
  /**
   * True for a tool that changes nothing (a read): its calls run as local activities, with no
   * ledger. Every other tool's result is recorded under the call's idempotency key, so a retried
   * call does not act twice.
   */
  sideEffectFree: boolean;
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
