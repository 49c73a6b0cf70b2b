import type Anthropic from '@anthropic-ai/sdk';
import { renderSystemPrompt } from '../../common/prompt-format.js';
import type { BlobStore } from '../../store/blob-store.js';
import { runToolCall } from '../../activities/run-tool.js';
import type { ToolRunInput } from '../../common/contracts.js';
import { workspaceTools } from '../../tools/workspace-tools.js';
import { toToolSchema, type ToolOutput } from '../../tools/define.js';
import type { AgentState } from '../../common/state.js';
import { stateTools } from '../../common/state-tools.js';

type MessageParam = Anthropic.Beta.Messages.BetaMessageParam;
type ContentBlockParam = Anthropic.Beta.Messages.BetaContentBlockParam;

/** Everything the model sees, carried in the activity input: this is what makes history grow. */
export interface InlineModelCall {
  model: string;
  maxOutputTokens: number;
  systemPrompt: string;
  task: string;
  state: AgentState;
  messages: MessageParam[];
}

/** `usage.inputTokens` has the same path as in longhaul's `ModelCallResult`, so one reader serves both. */
export interface InlineModelReply {
  content: ContentBlockParam[];
  stopReason: string | null;
  usage: { inputTokens: number; outputTokens: number };
}

/**
 * The naive design's activities: the same model, tools and prompt as longhaul, without the
 * transcript store. No compaction edit is sent, so the context only grows.
 */
export function createNaiveActivities({ anthropic, store }: { anthropic: Anthropic; store: BlobStore }) {
  const registry = new Map(workspaceTools.map((t) => [t.name, t]));
  // The same tool list as longhaul's, so both designs send the model an equally large prompt.
  const tools = [...workspaceTools, ...Object.values(stateTools)].map(toToolSchema);

  return {
    async callModelInline(input: InlineModelCall): Promise<InlineModelReply> {
      const reply = await anthropic.beta.messages.create({
        model: input.model,
        max_tokens: input.maxOutputTokens,
        system: renderSystemPrompt(input.systemPrompt, input.task, input.state),
        messages: input.messages,
        tools,
      });
      return {
        content: reply.content,
        stopReason: reply.stop_reason,
        usage: { inputTokens: reply.usage.input_tokens, outputTokens: reply.usage.output_tokens },
      };
    },

    /** The whole tool output comes back inline, however large. */
    runToolInline: (input: ToolRunInput): Promise<ToolOutput> => runToolCall(registry, store, input),
  };
}

export type NaiveActivities = ReturnType<typeof createNaiveActivities>;
