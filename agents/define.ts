import type { ToolDefinition } from '../tools/define.js';
import { AGENT_NAME, parseRunOptions, type AgentDefaults } from '../common/options.js';
import { isStateTool } from '../common/state-tools.js';
import { BASE_UPDATE_FIELDS, STATE_LIST_NAME, type StateLists } from '../common/state.js';

/**
 * An agent profile: the tools its runs may call (run on the worker, as activities) and defaults
 * for its runs' options: system prompt, model, caps, compaction trigger and instructions, tool
 * policies, escalation policy. A run names the profile (`agent`); its own options win.
 */
export interface AgentDefinition extends AgentDefaults {
  name: string;
  systemPrompt: string;
  tools: ToolDefinition[];
  /**
   * The agent's own lists in its structured state, each with the zod schema of one item, e.g.
   * `{ blockers: z.object({ file: z.string(), reason: z.string() }) }`. The model adds to them with
   * update_state (`add_blockers`); they survive compaction like the built-in items done and findings.
   */
  state?: StateLists;
}

/** Checks a profile once, where it is written, so a mistake fails the worker's start and not a run. */
export function defineAgent<const A extends AgentDefinition>(agent: A): A {
  if (!AGENT_NAME.test(agent.name)) {
    throw new Error(`agent name ${JSON.stringify(agent.name)}: use letters, digits, - or _ (at most 64)`);
  }
  const seen = new Set<string>();
  for (const tool of agent.tools) {
    if (isStateTool(tool.name)) throw new Error(`agent ${agent.name}: tool name ${tool.name} is reserved for a state tool`);
    if (seen.has(tool.name)) throw new Error(`agent ${agent.name}: two tools are named ${tool.name}`);
    seen.add(tool.name);
  }
  for (const name of Object.keys(agent.state ?? {})) {
    if (!STATE_LIST_NAME.test(name)) throw new Error(`agent ${agent.name}: state list ${JSON.stringify(name)}: use lower-case letters, digits and _ (at most 40)`);
    // add_findings, add_decisions and add_errors already mean the built-in parts of the state.
    if (Object.hasOwn(BASE_UPDATE_FIELDS, `add_${name}`)) throw new Error(`agent ${agent.name}: state list ${name} is a built-in part of the state`);
  }
  const checked = parseRunOptions({ ...agentDefaults(agent), task: 'check', workspace: '.' });
  if (!checked.ok) throw new Error(`agent ${agent.name}: ${checked.error}`);
  return agent;
}

/** The part of a profile the workflow needs: plain data, recorded in the run's history once. */
export function agentDefaults(agent: AgentDefinition): AgentDefaults {
  const { name: _name, tools: _tools, state: _state, ...defaults } = agent;
  return defaults;
}
