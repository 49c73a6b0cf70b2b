import Anthropic from '@anthropic-ai/sdk';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { RunOptions } from '../workflows/options.js';
import { applyStateUpdate, initialState, type AgentState, type StateUpdate } from '../workflows/state.js';
import { withHeartbeat } from './heartbeat.js';
import { classifyModelError } from './model-errors.js';
import { renderSystemPrompt } from './prompt.js';
import type { BlobRef, BlobStore } from './store/blob-store.js';
import type { ToolSchema } from '../tools/define.js';
import { appendAssistant, readNode, resolvePending, writeNode, loadMessages, type PendingBlock } from './transcript.js';

type ContentBlockParam = Anthropic.Beta.Messages.BetaContentBlockParam;

export const COMPACTION_BETA = 'compact-2026-01-12';
const TEXT_PREVIEW_CHARS = 500;

export interface ModelCallInput {
  workflowId: string;
  turn: number;
  model: string;
  maxOutputTokens: number;
  /** The system prompt and task: inline on the first call, then by the reference that call returned. */
  instructions: { ref: BlobRef } | { systemPrompt: string; task: string };
  /**
   * The state to render, as the last call stored it plus the updates since: so each call's input
   * grows with what changed in the turn, not with the state. Null when state injection is off.
   */
  state: { ref: BlobRef | null; updates: StateUpdate[] } | null;
  compaction: RunOptions['compaction'];
  head: BlobRef | null;
  /** The user message to add before calling; null continues the assistant message at the head. */
  append: PendingBlock[] | null;
}

export interface ToolCall {
  id: string;
  name: string;
  input: unknown;
}

export interface ModelTurn {
  head: BlobRef;
  instructionsRef: BlobRef;
  /** The rendered state as stored, when state injection is on. */
  stateRef: BlobRef | null;
  stopReason: string | null;
  /** Tokens of the answering iteration; `compaction` holds the summarizer's, billed separately. */
  usage: { inputTokens: number; outputTokens: number; compaction?: { inputTokens: number; outputTokens: number } };
  /** Present when the reply carried a compaction block; `summarized` is false for a failed (null) one. */
  compaction: { summarized: boolean; summaryChars: number } | null;
  text: string;
  toolCalls: ToolCall[];
}

export function compactionEdits(compaction: RunOptions['compaction']) {
  if (!compaction.enabled) return undefined;
  return {
    edits: [
      {
        type: 'compact_20260112' as const,
        trigger: { type: 'input_tokens' as const, value: compaction.trigger },
        ...(compaction.instructions ? { instructions: compaction.instructions } : {}),
        pause_after_compaction: compaction.pauseAfterCompaction,
      },
    ],
  };
}

/** Reads usage the way the brief says: the answer's tokens from the `message` iteration, compaction's apart. */
export function readUsage(usage: Anthropic.Beta.Messages.BetaUsage): ModelTurn['usage'] {
  const iterations = usage.iterations ?? [];
  const message = iterations.findLast((i) => i.type === 'message');
  const compactions = iterations.filter((i) => i.type === 'compaction');
  return {
    inputTokens: message?.input_tokens ?? usage.input_tokens,
    outputTokens: message?.output_tokens ?? usage.output_tokens,
    ...(compactions.length
      ? {
          compaction: {
            inputTokens: compactions.reduce((n, i) => n + i.input_tokens, 0),
            outputTokens: compactions.reduce((n, i) => n + i.output_tokens, 0),
          },
        }
      : {}),
  };
}

/** Applies the updates to the stored state and stores the result (idempotent, content-addressed). */
async function resolveState(store: BlobStore, { ref, updates }: { ref: BlobRef | null; updates: StateUpdate[] }) {
  const base: AgentState = ref ? (JSON.parse(await store.get(ref)) as AgentState) : initialState();
  const value = updates.reduce(applyStateUpdate, base);
  return { value, ref: updates.length || !ref ? await store.put(JSON.stringify(value)) : ref };
}

export function createModelActivity(deps: { anthropic: Anthropic; store: BlobStore; toolSchemas: ToolSchema[] }) {
  const { anthropic, store, toolSchemas } = deps;

  return async function callModel(input: ModelCallInput): Promise<ModelTurn> {
    const ctx = Context.current();
    const instructionsRef =
      'ref' in input.instructions ? input.instructions.ref : await store.put(JSON.stringify(input.instructions));
    const { systemPrompt, task } = JSON.parse(await store.get(instructionsRef)) as { systemPrompt: string; task: string };

    // Writing the user message first is idempotent (content-addressed), so a retry repeats nothing.
    let headRef = input.head;
    if (input.append) {
      headRef = await writeNode(store, {
        prev: input.head,
        message: { role: 'user', content: await resolvePending(store, input.append) },
      });
    }
    const messages = await loadMessages(store, headRef);
    const state = input.state ? await resolveState(store, input.state) : null;
    const context = compactionEdits(input.compaction);

    let reply: Anthropic.Beta.Messages.BetaMessage;
    try {
      reply = await withHeartbeat({ turn: input.turn }, (beat) => {
        const stream = anthropic.beta.messages.stream(
          {
            model: input.model,
            max_tokens: input.maxOutputTokens,
            system: renderSystemPrompt(systemPrompt, task, state?.value ?? null),
            messages,
            tools: toolSchemas,
            ...(context ? { betas: [COMPACTION_BETA], context_management: context } : {}),
          },
          { signal: ctx.cancellationSignal },
        );
        stream.on('streamEvent', beat);
        return stream.finalMessage();
      });
    } catch (err) {
      const c = classifyModelError(err);
      throw ApplicationFailure.create({
        type: c.type,
        message: c.message,
        nonRetryable: !c.retryable,
        ...(c.nextRetryDelayMs !== undefined ? { nextRetryDelay: c.nextRetryDelayMs } : {}),
      });
    }

    const content = reply.content as ContentBlockParam[];
    const headNode = headRef ? await readNode(store, headRef) : null;
    const newHead = await writeNode(store, appendAssistant(headNode, headRef, content));
    const compactionBlock = reply.content.find((b) => b.type === 'compaction');
    return {
      head: newHead,
      instructionsRef,
      stateRef: state?.ref ?? null,
      stopReason: reply.stop_reason,
      usage: readUsage(reply.usage),
      compaction: compactionBlock
        ? { summarized: !!compactionBlock.content, summaryChars: compactionBlock.content?.length ?? 0 }
        : null,
      text: reply.content
        .flatMap((b) => (b.type === 'text' ? [b.text] : []))
        .join('\n')
        .slice(0, TEXT_PREVIEW_CHARS),
      toolCalls: reply.content.flatMap((b) => (b.type === 'tool_use' ? [{ id: b.id, name: b.name, input: b.input }] : [])),
    };
  };
}
