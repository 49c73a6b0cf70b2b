import type { ToolDefinition } from '../tools/define.js';
import { AGENT_NAME, parseRunOptions, type AgentDefaults } from '../common/options.js';
import type { StateLists } from '../common/state.js';
import { checkToolset } from '../tools/toolset.js';
import { parseMcpServers, type McpServers } from '../tools/mcp/config.js';

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
  /**
   * MCP servers whose tools the agent's runs may call, as `<server>__<tool>` (tools/mcp/config.ts):
   * connected by the worker at its start. `${VAR}` in env and header values is read from the
   * worker's environment; none of it is recorded in a run.
   */
  mcpServers?: McpServers;
}

/** Checks a profile once, where it is written, so a mistake fails the worker's start and not a run. */
export function defineAgent<const A extends AgentDefinition>(agent: A): A {
  if (!AGENT_NAME.test(agent.name)) {
    throw new Error(`agent name ${JSON.stringify(agent.name)}: use letters, digits, - or _ (at most 64)`);
  }
  checkToolset(`agent ${agent.name}`, agent.tools, agent.state);
  if (agent.mcpServers) parseMcpServers(`agent ${agent.name}`, agent.mcpServers);
  const checked = parseRunOptions({ ...agentDefaults(agent), task: 'check', workspace: '.' });
  if (!checked.ok) throw new Error(`agent ${agent.name}: ${checked.error}`);
  return agent;
}

/** The part of a profile the workflow needs: plain data, recorded in the run's history once. */
export function agentDefaults(agent: AgentDefinition): AgentDefaults {
  const { name: _name, tools: _tools, state: _state, mcpServers: _servers, ...defaults } = agent;
  return defaults;
}
