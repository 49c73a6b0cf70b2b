import type Anthropic from '@anthropic-ai/sdk';
import type { ToolDefinition } from '../tools/define.js';
import { toToolSchema } from '../tools/define.js';
import { stateTools } from '../workflows/state-tools.js';
import { withHeartbeat } from './heartbeat.js';
import { createModelActivities } from './model.js';
import { notifyEscalation } from './notify.js';
import type { BlobStore } from '../store/blob-store.js';
import type { PendingBlock } from './transcript.js';
import { runToolCall, type ToolRunInput } from './tools/run-tool.js';
import { workspaceTools } from './tools/workspace-tools.js';

export type { ModelCallInput, ModelTurn, ToolCall } from './model.js';
export type { PendingBlock } from './transcript.js';
export type { ToolRunInput } from './tools/run-tool.js';
export type { EscalationNotice } from './notify.js';

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
  /** Tools that run as activities; the built-in workspace tools when omitted. */
  tools?: ToolDefinition[];
}

export function createActivities({ anthropic, store, tools = workspaceTools }: ActivityDeps) {
  const registry = new Map(tools.map((t) => [t.name, t]));
  for (const name of Object.keys(stateTools)) {
    if (registry.has(name)) throw new Error(`tool name ${name} is reserved for a state tool`);
  }
  const toolSchemas = [...tools, ...Object.values(stateTools)].map(toToolSchema);

  return {
    ...createModelActivities({ anthropic, store, toolSchemas }),
    notifyEscalation,

    /** Runs a tool and returns its result as a block of the next user message. */
    async runTool(input: ToolRunInput): Promise<PendingBlock> {
      const out = await withHeartbeat({ turn: input.turn, tool: input.call.name }, () => runToolCall(registry, store, input));
      const base = { type: 'tool_result' as const, tool_use_id: input.call.id, ...(out.isError ? { is_error: true } : {}) };
      if (out.content.length <= INLINE_RESULT_CHARS) return { ...base, content: out.content };
      const ref = await store.put(out.content);
      if (out.content.length <= MAX_RESULT_CHARS) return { ...base, contentRef: ref };
      return { ...base, contentRef: await store.put(truncatedPreview(out.content, ref)) };
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;
