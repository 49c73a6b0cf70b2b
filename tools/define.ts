import { z } from 'zod';
import type { ToolPolicy } from '../common/options.js';

export { APPROVAL_DETAIL_CHARS } from '../common/call-display.js';

/** What a tool hands back: text for the model, and whether it is an error the model should act on. */
export interface ToolOutput {
  content: string;
  isError?: boolean;
}

export interface ToolContext {
  /** The run's workspace directory; file tools never reach outside it. */
  workspace: string;
  /**
   * `workflowId/chainId/turn/position/digest` (activities/ledger.ts): unique per call of a run's
   * chain, the same for every attempt of the call, and for the same call in the same slot after a
   * `temporal workflow reset`; a new run under a reused workflow id has other keys. Hand it to an
   * external API's idempotency key so that API does not act twice either.
   */
  idempotencyKey: string;
  /**
   * Paths writes are refused under, beside `.git` which always is (common/write-protected.ts): a
   * name without `/` matches any component, one with `/` a prefix relative to the workspace.
   */
  writeProtected?: readonly string[];
  /**
   * Aborted when the call's activity is cancelled (the run stopped, or Temporal gave up on the
   * attempt): a tool that runs for long (a command) stops and cleans up. Absent outside an activity.
   */
  signal?: AbortSignal;
}

/** What a tool's needsApproval and approvalDetail know of the run besides the call's input. */
export interface ApprovalContext {
  /** The run's workspace, its real path on this worker. */
  workspace: string;
}

/** A JSON Schema of an object, as the Messages API takes it in `input_schema`. */
export type ObjectJsonSchema = { type: 'object'; [key: string]: unknown };

export interface ToolDefinition<Input extends z.ZodType = z.ZodType> {
  name: string;
  description: string;
  input: Input;
  /**
   * The schema the model is shown, when the tool's own is JSON Schema already (an MCP server's):
   * offered as it is, instead of the one derived from `input`, which then only needs to accept it.
   */
  inputJsonSchema?: ObjectJsonSchema;
  /**
   * True for a tool that changes nothing (a read): its calls run as local activities, with no
   * ledger. Every other tool records its intent under the call's idempotency key before it acts
   * and its result after, so a retried call does not act twice.
   */
  sideEffectFree: boolean;
  /**
   * True for a tool with side effects whose calls in one reply may still run at the same time
   * (each touches only what its own input names). Absent: such calls run one after another, in
   * the reply's order; side-effect-free calls always may run at the same time.
   */
  concurrent?: boolean;
  run: (input: z.output<Input>, ctx: ToolContext) => Promise<ToolOutput>;
  /**
   * Asked, instead of acting again, when an earlier attempt of the call recorded its intent but no
   * result (it crashed, timed out or could not record after acting): the result to report if the
   * effect is in place, or undefined if the tool cannot tell, and the model is told the effect is
   * uncertain. Without it, always uncertain. It must only look, never act.
   */
  checkEffect?: (input: z.output<Input>, ctx: ToolContext) => Promise<ToolOutput | undefined>;
  /**
   * The tool's policy where neither the agent nor the worker names one (then DEFAULT_TOOL_POLICIES,
   * then allow); a tool with needsApproval and no policy: 'approve'. Runs may only narrow it.
   */
  policy?: ToolPolicy;
  /**
   * Whether this call must wait for a person, where the tool's policy is 'approve': false lets it
   * run without one (a command on the allow-list). Asked on the worker when the model makes the
   * call and again before it runs; throwing counts as true. It must only look, never act.
   */
  needsApproval?: (input: z.output<Input>, ctx: ApprovalContext) => boolean | Promise<boolean>;
  /**
   * What a person must see to decide on a held call (an edit's diff, a command and its directory),
   * shown below the call's line, cut at APPROVAL_DETAIL_CHARS; undefined or throwing: none.
   */
  approvalDetail?: (input: z.output<Input>, ctx: ApprovalContext) => Promise<string | undefined>;
}

export function defineTool<Input extends z.ZodType>(def: ToolDefinition<Input>): ToolDefinition<Input> {
  return def;
}

/**
 * The shape the Messages API takes in `tools`; the JSON Schema is derived from zod, never written
 * twice, unless the tool's schema is JSON Schema already (`inputJsonSchema`).
 */
export interface ToolSchema {
  name: string;
  description: string;
  input_schema: { type: 'object'; [key: string]: unknown };
}

export function toToolSchema(def: {
  name: string;
  description: string;
  input: z.ZodType;
  inputJsonSchema?: ObjectJsonSchema;
}): ToolSchema {
  const { $schema: _ignored, ...schema } = (def.inputJsonSchema ??
    z.toJSONSchema(def.input, { io: 'input' })) as Record<string, unknown>;
  return { name: def.name, description: def.description, input_schema: { ...schema, type: 'object' } };
}
