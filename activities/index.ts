import type Anthropic from '@anthropic-ai/sdk';
import { trace } from '@opentelemetry/api';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { agentDefaults, type AgentDefinition } from '../agents/define.js';
import type { ToolDefinition } from '../tools/define.js';
import { assembleToolset, type Toolset } from '../tools/toolset.js';
import { approvalWaived } from '../tools/approval.js';
import type { McpHub } from '../tools/mcp/hub.js';
import type { McpToolSource } from '../tools/mcp/tool-source.js';
import { admitOptions, ceilingOf, originOf, type Admission } from '../common/admission.js';
import { INLINE_RESULT_CHARS } from '../common/input-bounds.js';
import { isUnder } from '../common/workspace.js';
import { priceOf, type PriceOverrides } from '../common/cost.js';
import { ConfigError } from '../common/errors.js';
import {
  parseRunOptions,
  policyIn,
  type AgentDefaults,
  type RunOptionsInput,
  type ToolPolicy,
} from '../common/options.js';
import { withHeartbeat } from './heartbeat.js';
import { createModelActivities } from './model.js';
import { createNotifier } from './notify.js';
import type { BlobStore } from '../store/blob-store.js';
import type { BlobRef, LonghaulActivities, PendingBlock, ToolRunInput } from '../common/contracts.js';
import type { AgentState } from '../common/state.js';
import type { ToolOutput } from '../tools/define.js';
import { runToolCall } from './run-tool.js';
import { checkWorkspaceRoots, resolveWorkspace, WorkspaceRefusedError } from '../tools/workspace-roots.js';
import { workspaceTools } from '../tools/workspace-tools.js';

export { INLINE_RESULT_CHARS };
/** Above this, the model sees a preview and a note; the whole output stays in the store. */
export const MAX_RESULT_CHARS = 40_000;
export const PREVIEW_CHARS = 8_000;

/** What the model is shown of a tool output too large to put in its context whole. */
export function truncatedPreview(content: string, ref: string): string {
  return (
    `${content.slice(0, PREVIEW_CHARS)}\n[output truncated: the first ${PREVIEW_CHARS} of ${content.length} characters ` +
    `are shown; the whole output is stored as ${ref}]`
  );
}

/** A tool result as the workflow holds it: inline when small, else by reference (previewed when too large for the model). */
export async function resultBlock(
  store: BlobStore,
  toolUseId: string,
  content: string,
  isError: boolean,
  /** Above this the model sees a preview (truncatedPreview). */
  maxChars = MAX_RESULT_CHARS,
): Promise<PendingBlock> {
  const base = { type: 'tool_result' as const, tool_use_id: toolUseId, ...(isError ? { is_error: true } : {}) };
  if (content.length <= INLINE_RESULT_CHARS) return { ...base, content };
  const ref = await store.put(content);
  if (content.length <= maxChars) return { ...base, contentRef: ref };
  return { ...base, contentRef: await store.put(truncatedPreview(content, ref)) };
}

export interface ActivityDeps {
  anthropic: Anthropic;
  store: BlobStore;
  /** Tools of runs that name no agent; the built-in workspace tools when omitted. */
  tools?: ToolDefinition[];
  /** Agent profiles (`defineAgent`) that runs may name. */
  agents?: AgentDefinition[];
  /**
   * The directories runs may work in (absolute; a run's workspace is a path relative to one, or
   * inside one). The worker's current directory when omitted. `/`, /proc, /sys, /dev and any root
   * that is or holds the home directory are refused here, at the worker's start.
   */
  workspaceRoots?: readonly string[];
  /**
   * The most permissive tool policies of runs that name no agent (an agent's own policies are its
   * runs' ceiling); a tool not named: DEFAULT_TOOL_POLICIES, else allow. Runs may only narrow them.
   */
  toolPolicies?: Readonly<Record<string, ToolPolicy>>;
  /** Origins escalation webhooks may be posted to (`https://hooks.example.com`); none when omitted. */
  webhookAllow?: readonly string[];
  /** Paths the tools may not write, beside `.git` (ToolContext.writeProtected). */
  writeProtected?: readonly string[];
  /** Prices over the model table's list prices, by model id (common/cost.ts): every call is priced with them. */
  prices?: PriceOverrides;
  /**
   * The MCP servers of the worker's runs and of its agents (tools/mcp/hub.ts), whose tools join
   * the toolsets once the hub is started; the plugin makes it from its `mcpServers` and the agents'.
   */
  mcp?: McpHub;
}

/** A toolset lookup: fixed, or the current one of an owner with MCP servers (rebuilt when a server's list changes). */
function toolsetLookup(
  owner: string,
  tools: readonly ToolDefinition[],
  lists: AgentDefinition['state'],
  mcp: McpToolSource | undefined,
): () => Toolset {
  const build = (mcpTools: readonly ToolDefinition[] = []) => assembleToolset(owner, [...tools, ...mcpTools], lists);
  if (mcp) return mcp.bind(tools, build);
  const toolset = build();
  return () => toolset;
}

/** A refusal at a run's start: the run fails with this one line, and nothing of it runs. */
const refuseRun = (why: string) => ApplicationFailure.nonRetryable(why, 'InvalidRunOptions');

export function createActivities({
  anthropic,
  store,
  tools = workspaceTools,
  agents = [],
  workspaceRoots,
  toolPolicies: workerPolicies = {},
  webhookAllow: allowed = [],
  writeProtected,
  prices = {},
  mcp,
}: ActivityDeps): LonghaulActivities {
  const roots = checkWorkspaceRoots(workspaceRoots ?? [process.cwd()]);
  const webhookAllow = allowed.map((entry) => {
    const origin = originOf(entry);
    if (!origin)
      throw new ConfigError(
        `webhook allow-list: ${JSON.stringify(entry)} is not an origin such as https://hooks.example.com`,
      );
    return origin;
  });
  const builtIn = toolsetLookup("the worker's tools", tools, undefined, mcp?.worker);
  const profiles = new Map(
    agents.map((a) => [
      a.name,
      { agent: a, toolset: toolsetLookup(`agent ${a.name}`, a.tools, a.state, mcp?.agents.get(a.name)) },
    ]),
  );
  if (profiles.size !== agents.length) throw new Error('two agents have the same name');
  const unserved = agents.find((a) => a.mcpServers && Object.keys(a.mcpServers).length && !mcp?.agents.has(a.name));
  if (unserved)
    throw new Error(`agent ${unserved.name} has MCP servers, and no MCP hub connects them (LonghaulPlugin does)`);
  // A profile that delegates to an agent this worker lacks would have every run refused: say so at the start.
  for (const a of agents) {
    const missing = a.delegation?.agents.find((name) => !profiles.has(name));
    if (missing)
      throw new ConfigError(`agent ${a.name}: delegation.agents names ${missing}, which this worker does not serve`);
  }
  const served = () => (profiles.size ? [...profiles.keys()].join(', ') : 'none');
  /** A run whose agent this worker does not serve fails for good: retrying on this worker cannot help. */
  const profile = (name: string) => {
    const found = profiles.get(name);
    if (found) return found;
    throw ApplicationFailure.nonRetryable(
      `unknown agent ${JSON.stringify(name)}; this worker serves: ${served()}`,
      'UnknownAgent',
    );
  };
  const toolsetOf = (agent: string | undefined) => (agent === undefined ? builtIn() : profile(agent).toolset());
  const agentOf = (name: string | undefined) =>
    name === undefined ? {} : { agent: { name, defaults: agentDefaults(profile(name).agent) } };

  /**
   * The worker's own checks of a call, whatever the workflow decided: the tool's ceiling (deny
   * refuses, approve needs a person's approval on record unless the tool's needsApproval, asked
   * again now, says the call needs none) and the workspace, resolved again now.
   * A refusal is a tool error for the model; the call then never reaches the tool.
   */
  async function checkedRun(input: ToolRunInput): Promise<ToolOutput> {
    const name = input.call.name;
    const toolset = toolsetOf(input.agent);
    const ceiling = policyIn(
      ceilingOf({ ...agentOf(input.agent), workerPolicies, toolDefaults: toolset.defaultPolicies }),
      name,
    );
    const where = input.agent === undefined ? 'on this worker' : `for agent ${input.agent}`;
    if (ceiling === 'deny') return { content: `${name} is not allowed ${where}`, isError: true };
    let workspace: string;
    try {
      workspace = await resolveWorkspace(roots, input.workspace);
    } catch (err) {
      if (err instanceof WorkspaceRefusedError) return { content: err.message, isError: true };
      throw err;
    }
    // A large input was stored by the model call (activities/model.ts): read it back first.
    const { inputRef } = input.call;
    const call = inputRef ? { ...input.call, input: JSON.parse(await store.get(inputRef)) as unknown } : input.call;
    // Unapproved under 'approve' only if the tool, asked again now, says this call needs no person.
    const tool = toolset.registry.get(name);
    if (
      ceiling === 'approve' &&
      !input.approvedBy &&
      !(tool && (await approvalWaived(tool, call.input, { workspace })))
    ) {
      return { content: `${name} needs a person's approval ${where}, and this call has none`, isError: true };
    }
    return runToolCall(
      toolset.registry,
      store,
      { ...input, workspace, call },
      writeProtected,
      Context.current().cancellationSignal,
    );
  }

  return {
    ...createModelActivities({ anthropic, store, toolsetOf, workspaceRoots: roots, prices }),
    notifyEscalation: createNotifier(webhookAllow),

    /** The defaults of a named agent, read once when its run starts (a local activity of runs from before admitRun). */
    async agentProfile(name: string): Promise<AgentDefaults> {
      return agentDefaults(profile(name).agent);
    },

    /** The state a model call stored (a local activity, when a continued run starts). */
    async loadState(ref: BlobRef): Promise<AgentState> {
      return JSON.parse(await store.get(ref)) as AgentState;
    },

    /**
     * A new run's options as this worker will run them (the first activity of the run): the
     * agent's defaults merged, each tool's policy explicit under its ceiling, the webhook on the
     * allow-list, the workspace its real path inside a root. A refusal fails the run at start.
     */
    async admitRun(options: RunOptionsInput, admission: Admission = {}): Promise<RunOptionsInput> {
      const parsed = parseRunOptions(options);
      if (!parsed.ok) throw refuseRun(parsed.error);
      const { agent, budgetUsd, model } = parsed.options;
      // A dollar budget of a model without a price would never be reached.
      if (budgetUsd !== undefined && !priceOf(model, prices))
        throw refuseRun(
          `budgetUsd: model ${JSON.stringify(model)} has no price on this worker; set one in LONGHAUL_PRICES`,
        );
      const toolset = toolsetOf(agent);
      const admitted = admitOptions(
        options,
        {
          ...agentOf(agent),
          workerPolicies,
          toolDefaults: toolset.defaultPolicies,
          tools: [...toolset.registry.keys()],
          webhookAllow,
          served: [...profiles.keys()],
        },
        admission,
      );
      if (!admitted.ok) throw refuseRun(admitted.error);
      try {
        const workspace = await resolveWorkspace(roots, admitted.options.workspace);
        // A sub-agent works inside its parent's workspace, whatever links its subdirectory holds.
        if (admission.within !== undefined && !isUnder(admission.within, workspace))
          throw refuseRun(
            `workspace ${JSON.stringify(admitted.options.workspace)} leads outside the parent's workspace, after following symlinks`,
          );
        return { ...admitted.options, workspace };
      } catch (err) {
        if (err instanceof WorkspaceRefusedError) throw refuseRun(err.message);
        throw err;
      }
    },

    /** Runs a tool and returns its result as a block of the next user message. */
    async runTool(input: ToolRunInput): Promise<PendingBlock> {
      // The activity's span when tracing (worker/telemetry.ts); without it this does nothing.
      const span = trace.getActiveSpan();
      span?.setAttributes({
        'longhaul.turn': input.turn,
        'gen_ai.tool.name': input.call.name,
        'gen_ai.tool.call.id': input.call.id,
      });
      const out = await withHeartbeat({ turn: input.turn, tool: input.call.name }, () => checkedRun(input));
      span?.setAttribute('longhaul.tool.is_error', out.isError === true);
      return resultBlock(store, input.call.id, out.content, out.isError === true);
    },

    /**
     * A result the workflow made (a sub-agent's report) too large to keep inline, stored whole: it
     * is what the parent delegated for, and finish's inline bound (MAX_INLINE_INPUTS_BYTES) bounds it.
     */
    async storeResult({ toolUseId, content, isError }): Promise<PendingBlock> {
      return resultBlock(store, toolUseId, content, isError === true, Infinity);
    },
  };
}
