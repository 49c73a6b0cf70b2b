import type { z } from 'zod';
import {
  BASE_UPDATE_FIELDS,
  STATE_LIST_NAME,
  stateUpdateSchema,
  type StateLists,
  type StateUpdate,
} from '../common/state.js';
import { isStateTool, stateTools } from '../common/state-tools.js';
import { ToolPolicy } from '../common/options.js';
import { DELEGATE_TOOL, delegateTool } from '../common/delegation.js';
import { toToolSchema, type ToolDefinition, type ToolSchema } from './define.js';

/** What one agent's runs may call: its tools by name, and the schemas the model is shown. */
export interface Toolset {
  registry: ReadonlyMap<string, ToolDefinition>;
  schemas: ToolSchema[];
  /**
   * The tools' own policies (ToolDefinition.policy; 'approve' for one with needsApproval and no
   * policy): the ceiling where neither the agent nor the worker names the tool (common/admission.ts).
   */
  defaultPolicies: Readonly<Record<string, ToolPolicy>>;
  /** The agent's own state lists, and update_state's input checked against them; absent without lists. */
  state?: { lists: string[]; update: z.ZodType<StateUpdate> };
}

/**
 * Every check on a tool list and its state lists, in one place, so a mistake fails where the list
 * is written (defineAgent, the worker's start) and not in a run. `owner` names the list in errors.
 */
export function checkToolset(owner: string, tools: readonly ToolDefinition[], lists: StateLists = {}): void {
  const seen = new Set<string>();
  for (const tool of tools) {
    if (isStateTool(tool.name)) throw new Error(`${owner}: tool name ${tool.name} is reserved for a state tool`);
    if (tool.name === DELEGATE_TOOL) throw new Error(`${owner}: tool name ${tool.name} is reserved for sub-agents`);
    if (seen.has(tool.name)) throw new Error(`${owner}: two tools are named ${tool.name}`);
    seen.add(tool.name);
    if (tool.policy !== undefined && !ToolPolicy.safeParse(tool.policy).success)
      throw new Error(
        `${owner}: tool ${tool.name}: policy ${JSON.stringify(tool.policy)} is not one of ${ToolPolicy.options.join(', ')}`,
      );
  }
  for (const name of Object.keys(lists)) {
    if (!STATE_LIST_NAME.test(name))
      throw new Error(
        `${owner}: state list ${JSON.stringify(name)}: use lower-case letters, digits and _ (at most 40)`,
      );
    // add_findings, add_decisions and add_errors already mean the built-in parts of the state.
    if (Object.hasOwn(BASE_UPDATE_FIELDS, `add_${name}`))
      throw new Error(`${owner}: state list ${name} is a built-in part of the state`);
  }
}

/** The checked toolset: the tools, then the state tools (update_state taking the agent's own lists, if any). */
export function assembleToolset(owner: string, tools: readonly ToolDefinition[], lists: StateLists = {}): Toolset {
  checkToolset(owner, tools, lists);
  const registry = new Map(tools.map((t) => [t.name, t]));
  const defaultPolicies = defaultPoliciesOf(tools);
  const names = Object.keys(lists);
  if (!names.length)
    return { registry, defaultPolicies, schemas: [...tools, ...Object.values(stateTools)].map(toToolSchema) };
  const update = stateUpdateSchema(lists);
  const updateState = {
    ...stateTools.update_state,
    description: `${stateTools.update_state.description} Your own lists: ${names.map((n) => `${n} (add_${n})`).join(', ')}.`,
    input: update,
  };
  const builtIn = Object.values(stateTools).map((t) => (t.name === 'update_state' ? updateState : t));
  return {
    registry,
    defaultPolicies,
    schemas: [...tools, ...builtIn].map(toToolSchema),
    state: { lists: names, update },
  };
}

/** Each tool's own policy, where it has one: its `policy`, else 'approve' when it has needsApproval. */
function defaultPoliciesOf(tools: readonly ToolDefinition[]): Record<string, ToolPolicy> {
  return Object.fromEntries(
    tools.flatMap((t) => {
      const policy = t.policy ?? (t.needsApproval ? 'approve' : undefined);
      return policy ? [[t.name, policy]] : [];
    }),
  );
}

/**
 * Whether a call changes nothing, so it may run as a local activity: its tool says so, and a name
 * no tool has only earns the model an error. State tools run in the workflow and are never asked.
 */
export function callIsSideEffectFree({ registry }: Toolset, name: string): boolean {
  return registry.get(name)?.sideEffectFree ?? true;
}

/** The delegate tool as a run that may delegate is shown it: its agent field names the agents it may run. */
export function delegateSchema(agents: readonly string[]): ToolSchema {
  const schema = toToolSchema(delegateTool);
  const properties = schema.input_schema.properties as Record<string, { description?: string }>;
  const agent = {
    ...properties.agent,
    description: `the agent profile the sub-agent runs as: one of ${agents.join(', ')}`,
  };
  return { ...schema, input_schema: { ...schema.input_schema, properties: { ...properties, agent } } };
}
/** Whether a call's tool says its calls in one reply may run at the same time (ToolDefinition.concurrent). */
export const callIsConcurrent = ({ registry }: Toolset, name: string): boolean =>
  registry.get(name)?.concurrent === true;
