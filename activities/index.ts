import type Anthropic from '@anthropic-ai/sdk';
import { trace } from '@opentelemetry/api';
import { ApplicationFailure } from '@temporalio/activity';
import { agentDefaults, type AgentDefinition } from '../agents/define.js';
import type { ToolDefinition } from '../tools/define.js';
import { assembleToolset } from '../tools/toolset.js';
import type { AgentDefaults } from '../common/options.js';
import { withHeartbeat } from './heartbeat.js';
import { createModelActivities } from './model.js';
import { notifyEscalation } from './notify.js';
import type { BlobStore } from '../store/blob-store.js';
import type { BlobRef, LonghaulActivities, PendingBlock, ToolRunInput } from '../common/contracts.js';
import type { AgentState } from '../common/state.js';
import { runToolCall } from './run-tool.js';
import { workspaceTools } from '../tools/workspace-tools.js';

/** Tool results above this many characters go to the store; the workflow keeps a reference. */
export const INLINE_RESULT_CHARS = 1_024;
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

export interface ActivityDeps {
  anthropic: Anthropic;
  store: BlobStore;
  /** Tools of runs that name no agent; the built-in workspace tools when omitted. */
  tools?: ToolDefinition[];
  /** Agent profiles (`defineAgent`) that runs may name. */
  agents?: AgentDefinition[];
  /** Paths the tools may not write, beside `.git` (ToolContext.writeProtected). */
  writeProtected?: readonly string[];
}

export function createActivities({
  anthropic,
  store,
  tools = workspaceTools,
  agents = [],
  writeProtected,
}: ActivityDeps): LonghaulActivities {
  const builtIn = assembleToolset("the worker's tools", tools);
  const profiles = new Map(
    agents.map((a) => [a.name, { agent: a, toolset: assembleToolset(`agent ${a.name}`, a.tools, a.state) }]),
  );
  if (profiles.size !== agents.length) throw new Error('two agents have the same name');
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
  const toolsetOf = (agent: string | undefined) => (agent === undefined ? builtIn : profile(agent).toolset);

  return {
    ...createModelActivities({ anthropic, store, toolsetOf }),
    notifyEscalation,

    /** The defaults of a named agent, read once when its run starts (a local activity). */
    async agentProfile(name: string): Promise<AgentDefaults> {
      return agentDefaults(profile(name).agent);
    },

    /** The state a model call stored (a local activity, when a continued run starts). */
    async loadState(ref: BlobRef): Promise<AgentState> {
      return JSON.parse(await store.get(ref)) as AgentState;
    },

    /** Runs a tool and returns its result as a block of the next user message. */
    async runTool(input: ToolRunInput): Promise<PendingBlock> {
      const { registry } = toolsetOf(input.agent);
      // The activity's span when tracing (worker/telemetry.ts); without it this does nothing.
      const span = trace.getActiveSpan();
      span?.setAttributes({
        'longhaul.turn': input.turn,
        'gen_ai.tool.name': input.call.name,
        'gen_ai.tool.call.id': input.call.id,
      });
      // A large input was stored by the model call (activities/model.ts): read it back first.
      const { inputRef } = input.call;
      const call = inputRef ? { ...input.call, input: JSON.parse(await store.get(inputRef)) as unknown } : input.call;
      const out = await withHeartbeat({ turn: input.turn, tool: input.call.name }, () =>
        runToolCall(registry, store, { ...input, call }, writeProtected),
      );
      span?.setAttribute('longhaul.tool.is_error', out.isError === true);
      const base = {
        type: 'tool_result' as const,
        tool_use_id: input.call.id,
        ...(out.isError ? { is_error: true } : {}),
      };
      if (out.content.length <= INLINE_RESULT_CHARS) return { ...base, content: out.content };
      const ref = await store.put(out.content);
      if (out.content.length <= MAX_RESULT_CHARS) return { ...base, contentRef: ref };
      return { ...base, contentRef: await store.put(truncatedPreview(out.content, ref)) };
    },
  };
}
