import Anthropic from '@anthropic-ai/sdk';
import { trace } from '@opentelemetry/api';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { describeZodError, type RunOptions } from '../common/options.js';
import { applyStateUpdate, initialState, type AgentState, type StateUpdate } from '../common/state.js';
import { withHeartbeat } from './heartbeat.js';
import { classifyModelError } from './model-errors.js';
import { layoutRequest } from './request-layout.js';
import type { BlobRef, BlobStore } from '../store/blob-store.js';
import { loadTranscript, readNode, TranscriptCache, type TranscriptNode } from '../store/transcript.js';
import { callIsConcurrent, callIsSideEffectFree, delegateSchema, type Toolset } from '../tools/toolset.js';
import { DELEGATE_TOOL } from '../common/delegation.js';
import { approvalFields } from '../tools/approval.js';
import type { ApprovalContext } from '../tools/define.js';
import { resolveWorkspace } from '../tools/workspace-roots.js';
import { isStateTool } from '../common/state-tools.js';
import { appendAssistant, appendUser, nodeUsage, resolvePending, writeNode } from './transcript.js';
import type { ModelCallInput, ModelCallResult, ToolCall } from '../common/contracts.js';
import { COMPACTION_BETA, COMPACTION_EDIT, SUMMARIZE_BETA } from '../common/messages-api.js';
import { callDisplay } from '../common/call-display.js';
import { callCost, type PriceOverrides } from '../common/cost.js';
import {
  cutText,
  FAILURE_CHARS,
  INLINE_INPUT_BYTES,
  MAX_CALLS_PER_REPLY,
  MAX_INLINE_INPUTS_BYTES,
  MAX_INPUT_DEPTH,
  measure,
  tooDeepError,
} from '../common/input-bounds.js';

type ContentBlockParam = Anthropic.Beta.Messages.BetaContentBlockParam;
type MessageParam = Anthropic.Beta.Messages.BetaMessageParam;

const TEXT_PREVIEW_CHARS = 500;

export function compactionEdits(compaction: RunOptions['compaction']) {
  if (!compaction.enabled) return undefined;
  return {
    edits: [
      {
        type: COMPACTION_EDIT,
        trigger: { type: 'input_tokens' as const, value: compaction.trigger },
        ...(compaction.instructions ? { instructions: compaction.instructions } : {}),
        pause_after_compaction: compaction.pauseAfterCompaction,
      },
    ],
  };
}

/** The cache fields of a usage or an iteration, present only when non-zero (results stay as small as before). */
function cacheFields(u: {
  cache_creation_input_tokens: number | null;
  cache_read_input_tokens: number | null;
  cache_creation: Anthropic.Beta.Messages.BetaCacheCreation | null;
}) {
  const write = u.cache_creation_input_tokens ?? 0;
  const write1h = u.cache_creation?.ephemeral_1h_input_tokens ?? 0;
  const read = u.cache_read_input_tokens ?? 0;
  return {
    ...(write ? { cacheWriteTokens: write } : {}),
    ...(write1h ? { cacheWrite1hTokens: write1h } : {}),
    ...(read ? { cacheReadTokens: read } : {}),
  };
}

/**
 * Reads usage whole, as the compaction API reports it: the answer's tokens (uncached input, cache
 * writes and reads, output) from the last `message` iteration, compaction's apart, summed over its
 * iterations with their own cache fields.
 */
export function readUsage(usage: Anthropic.Beta.Messages.BetaUsage): ModelCallResult['usage'] {
  const iterations = usage.iterations ?? [];
  const message = iterations.findLast((i) => i.type === 'message') ?? usage;
  const compactions = iterations.filter((i) => i.type === 'compaction');
  const sum = (f: (i: (typeof compactions)[number]) => number | null) =>
    compactions.reduce((n, i) => n + (f(i) ?? 0), 0);
  const compactionWrite = sum((i) => i.cache_creation_input_tokens);
  const compactionRead = sum((i) => i.cache_read_input_tokens);
  return {
    inputTokens: message.input_tokens,
    outputTokens: message.output_tokens,
    ...cacheFields(message),
    ...(compactions.length
      ? {
          compaction: {
            inputTokens: sum((i) => i.input_tokens),
            outputTokens: sum((i) => i.output_tokens),
            ...(compactionWrite ? { cacheWriteTokens: compactionWrite } : {}),
            ...(compactionRead ? { cacheReadTokens: compactionRead } : {}),
          },
        }
      : {}),
  };
}

/** The usage read whole and its price, as a result carries them; the span gets both. */
export function usageAndCost(
  model: string,
  usage: Anthropic.Beta.Messages.BetaUsage,
  prices: PriceOverrides,
): Pick<ModelCallResult, 'usage' | 'costNanos'> {
  const read = readUsage(usage);
  const cost = callCost(model, read, prices);
  trace.getActiveSpan()?.setAttributes({
    'gen_ai.usage.input_tokens': read.inputTokens,
    'gen_ai.usage.output_tokens': read.outputTokens,
    'gen_ai.usage.cache_creation.input_tokens': read.cacheWriteTokens ?? 0,
    'gen_ai.usage.cache_read.input_tokens': read.cacheReadTokens ?? 0,
    ...(read.compaction
      ? {
          'longhaul.compaction.input_tokens': read.compaction.inputTokens,
          'longhaul.compaction.output_tokens': read.compaction.outputTokens,
        }
      : {}),
    ...(cost !== undefined ? { 'longhaul.cost_usd': cost / 1e9 } : {}),
  });
  return { usage: read, ...(cost !== undefined ? { costNanos: cost } : {}) };
}

type ReplyBlock = Anthropic.Beta.Messages.BetaContentBlock;

/**
 * Whether a reply goes into the transcript. Not a reply to a context the model cannot hold (the
 * transcript stays as it was, with the user message, ready for an on-demand compaction); not a
 * refusal, which the SDK's threads drop too (ThreadState: "records nothing of a turn the model
 * refused"), so the refused turn is never sent again; not an empty reply, which the API would
 * refuse as an assistant message. The next user message then joins the one before (appendUser).
 */
export function keepsReply(stopReason: string | null, content: readonly ReplyBlock[]): boolean {
  return stopReason !== 'model_context_window_exceeded' && stopReason !== 'refusal' && content.length > 0;
}

/** What the model is told of a tool call its reply was cut off in. */
export const cutCallError = (name: string) =>
  `${name} was not run: your reply reached the output token limit while writing this call, so its input was incomplete; ` +
  'send it again in a shorter reply (split large content over several calls)';

/** A refusal's category and explanation (cut to a line's length); null fields when the API gave none. */
export function refusalDetails(details: Anthropic.Beta.Messages.BetaRefusalStopDetails | null | undefined) {
  return {
    category: details?.category ?? null,
    explanation: details?.explanation ? cutText(details.explanation.replace(/\s+/g, ' '), TEXT_PREVIEW_CHARS) : null,
  };
}

/**
 * The reply's tool calls that must not run, by their index in the reply, and why; their inputs
 * become `{}` in the reply as kept:
 * - inputs nested deeper than MAX_INPUT_DEPTH, before anything stringifies the reply (the
 *   transcript node, the activity's result): JSON.stringify recurses, and a RangeError there was
 *   retried as a failed model call;
 * - the last block of a reply stopped at max_tokens, when it is a tool call: it was cut while being
 *   written, and its input is what the SDK could parse of the partial JSON (a file half written).
 */
export function refuseCalls(
  stopReason: string | null,
  content: ReplyBlock[],
): { content: ReplyBlock[]; refused: Map<number, string> } {
  const refused = new Map<number, string>();
  const cut = stopReason === 'max_tokens' ? content.length - 1 : -1;
  const kept = content.map((block, i) => {
    if (block.type !== 'tool_use') return block;
    if (i === cut) refused.set(i, cutCallError(block.name));
    else if (measure(block.input, { maxDepth: MAX_INPUT_DEPTH }).exceeded === 'depth')
      refused.set(i, tooDeepError(block.name));
    else return block;
    return { ...block, input: {} };
  });
  return { content: kept, refused };
}

/** update_state of an agent with its own lists is checked here, where the agents' schemas are. */
function checkedStateUpdate(block: { name: string; input: unknown }, toolset: Toolset): Partial<ToolCall> {
  const { state } = toolset;
  if (block.name !== 'update_state' || !state) return {};
  const checked = state.update.safeParse(block.input);
  return {
    stateUpdate: checked.success
      ? { ok: true, update: checked.data }
      : { ok: false, error: describeZodError(checked.error) },
  };
}

/**
 * The reply's tool calls as the workflow gets them, bounded: each with its display line; inputs
 * above INLINE_INPUT_BYTES (or past MAX_INLINE_INPUTS_BYTES for the reply) stored by reference;
 * calls the workflow runs itself refused when they do not fit inline, and calls past
 * MAX_CALLS_PER_REPLY refused, each with a tool error for the model; each other call with what
 * its tool says of approving it (`approval`).
 */
async function toolCalls(
  content: ReplyBlock[],
  refused: Map<number, string>,
  toolset: Toolset,
  store: BlobStore,
  approval: Approval,
  /** The run may delegate: its delegate calls are the workflow's to read, like the state tools'. */
  delegates = false,
): Promise<ToolCall[]> {
  // Decided here, on the worker, where the tools' code is: the workflow reads the answers from
  // history. Asked all at once, so a reply waits for its slowest tool (tools/approval.ts bounds
  // each), not for the sum of them.
  const uses = content.flatMap((block, i) => (block.type === 'tool_use' ? [{ i, block }] : []));
  const approvals = new Map(
    await Promise.all(
      uses
        .slice(0, MAX_CALLS_PER_REPLY)
        .filter(({ i, block }) => !refused.has(i) && !isStateTool(block.name))
        .map(async ({ i, block }) => [i, await approval(block.name, block.input)] as const),
    ),
  );
  const calls: ToolCall[] = [];
  let inlineBytes = 0;
  for (const [i, block] of content.entries()) {
    if (block.type !== 'tool_use') continue;
    const base = { id: block.id, name: block.name };
    const tooMany =
      calls.length >= MAX_CALLS_PER_REPLY
        ? `${block.name} was not run: a reply may make at most ${MAX_CALLS_PER_REPLY} tool calls; make the rest in your next reply`
        : undefined;
    const error = refused.get(i) ?? tooMany;
    if (error) {
      calls.push({ ...base, input: {}, display: callDisplay(block.name, {}), inputError: error });
      continue;
    }
    const display = callDisplay(block.name, block.input);
    const json = JSON.stringify(block.input) ?? 'null';
    const bytes = Buffer.byteLength(json);
    if (isStateTool(block.name) || (delegates && block.name === DELEGATE_TOOL)) {
      // The workflow reads these inputs itself: they cannot go to the store.
      if (inlineBytes + bytes > MAX_INLINE_INPUTS_BYTES) {
        calls.push({
          ...base,
          input: {},
          display,
          inputError:
            `${block.name} was not run: its input is ${bytes} bytes, and a reply's update_state, finish, ` +
            `escalate_to_human${delegates ? ' and delegate' : ''} inputs may hold ${MAX_INLINE_INPUTS_BYTES} bytes in all; send less in one call`,
        });
        continue;
      }
      inlineBytes += bytes;
      calls.push({ ...base, input: block.input, display, ...checkedStateUpdate(block, toolset) });
      continue;
    }
    // Which calls change nothing (they run as local activities) and which may run at the same
    // time is the worker's knowledge.
    const marks = {
      ...(callIsSideEffectFree(toolset, block.name) ? { sideEffectFree: true as const } : {}),
      // Present only when true, like sideEffectFree.
      ...(callIsConcurrent(toolset, block.name) ? { concurrent: true as const } : {}),
    };
    const approved = approvals.get(i);
    if (bytes > INLINE_INPUT_BYTES || inlineBytes + bytes > MAX_INLINE_INPUTS_BYTES) {
      calls.push({ ...base, input: {}, display, inputRef: await store.put(json), ...marks, ...approved });
      continue;
    }
    inlineBytes += bytes;
    calls.push({ ...base, input: block.input, display, ...marks, ...approved });
  }
  return calls;
}

/** What a call's tool says of approving it (tools/approval.ts): the ToolCall's approval fields. */
type Approval = (name: string, input: unknown) => Promise<Pick<ToolCall, 'needsApproval' | 'approvalDetail'>>;

/**
 * The approval of a reply's calls that the run holds for a person (`approveTools`: under any other
 * policy the answer would change nothing, and a detail would only lengthen the history), in the
 * run's workspace resolved again through the worker's roots (once, when a tool first asks). A
 * workspace that does not resolve, or a call scheduled before calls carried them, decides nothing:
 * a call under 'approve' is then held, with no detail.
 */
function approvalIn(
  roots: readonly string[],
  { workspace, approveTools = [] }: ModelCallInput,
  toolset: Toolset,
): Approval {
  let context: Promise<ApprovalContext | undefined> | undefined;
  return async (name, input) => {
    const tool = toolset.registry.get(name);
    if (!tool || !approveTools.includes(name) || workspace === undefined) return {};
    context ??= resolveWorkspace(roots, workspace).then(
      (real) => ({ workspace: real }),
      () => undefined,
    );
    const ctx = await context;
    return ctx ? approvalFields(tool, input, ctx) : {};
  };
}

/** Applies the updates to the stored state and stores the result (idempotent, content-addressed). */
async function resolveState(store: BlobStore, { ref, updates }: { ref: BlobRef | null; updates: StateUpdate[] }) {
  const base: AgentState = ref ? (JSON.parse(await store.get(ref)) as AgentState) : initialState();
  const value = updates.reduce(applyStateUpdate, base);
  return { value, ref: updates.length || !ref ? await store.put(JSON.stringify(value)) : ref };
}

/** The model sees each of its agent's lists from the first turn, empty until it adds to them. */
function withEmptyLists(state: AgentState, names: string[]): AgentState {
  if (!names.length) return state;
  return { ...state, lists: { ...Object.fromEntries(names.map((n) => [n, []])), ...state.lists } };
}

/** Streams one request with heartbeats, and turns any SDK error into a classified ApplicationFailure. */
async function streamReply(
  anthropic: Anthropic,
  params: Anthropic.Beta.Messages.MessageCreateParamsNonStreaming,
  turn: number,
): Promise<Anthropic.Beta.Messages.BetaMessage> {
  try {
    const reply = await withHeartbeat({ turn }, (beat) => {
      const stream = anthropic.beta.messages.stream(params, { signal: Context.current().cancellationSignal });
      stream.on('streamEvent', beat);
      return stream.finalMessage();
    });
    trace.getActiveSpan()?.setAttributes({
      'gen_ai.response.finish_reasons': reply.stop_reason ? [reply.stop_reason] : [],
    });
    return reply;
  } catch (err) {
    const c = classifyModelError(err, params.model);
    throw ApplicationFailure.create({
      type: c.type,
      // The SDK quotes a malformed tool input whole ("Unable to parse tool parameter JSON … JSON: …").
      message: cutText(c.message, FAILURE_CHARS),
      nonRetryable: !c.retryable,
      ...(c.nextRetryDelayMs !== undefined ? { nextRetryDelay: c.nextRetryDelayMs } : {}),
    });
  }
}

export function createModelActivities(deps: {
  anthropic: Anthropic;
  store: BlobStore;
  toolsetOf: (agent: string | undefined) => Toolset;
  /** The worker's workspace roots, checked (tools/workspace-roots.ts): the tools decide approval in the run's workspace. */
  workspaceRoots: readonly string[];
  /** Prices over the table's list prices (LONGHAUL_PRICES). */
  prices?: PriceOverrides;
}) {
  const { anthropic, store, toolsetOf, workspaceRoots, prices = {} } = deps;
  const nodes = new TranscriptCache();

  /** What every request needs: instructions, the transcript (with the new user message written), the state. */
  async function prepare(input: ModelCallInput) {
    // The activity's span when tracing (worker/telemetry.ts); without it there is no span and this does nothing.
    trace.getActiveSpan()?.setAttributes({ 'longhaul.turn': input.turn, 'gen_ai.request.model': input.model });
    const instructionsRef =
      'ref' in input.instructions ? input.instructions.ref : await store.put(JSON.stringify(input.instructions));
    const { systemPrompt, task } = JSON.parse(await store.get(instructionsRef)) as {
      systemPrompt: string;
      task: string;
    };
    // Writing the user message first is idempotent (content-addressed), so a retry repeats nothing.
    let headRef = input.head;
    if (input.append) {
      const headNode = input.head ? await readNode(store, input.head, nodes) : null;
      headRef = await writeNode(
        store,
        appendUser(headNode, input.head, await resolvePending(store, input.append), input.turn),
        nodes,
      );
    }
    const state = input.state ? await resolveState(store, input.state) : null;
    const toolset = toolsetOf(input.agent);
    const transcript = await loadTranscript(store, headRef, nodes);
    // A run that may delegate is offered the delegate tool, after its own (the same bytes every call).
    const tools = input.delegation ? [...toolset.schemas, delegateSchema(input.delegation.agents)] : toolset.schemas;
    const layout = (messages: MessageParam[], promptCache = input.promptCache ?? 'on') =>
      layoutRequest({
        tools,
        systemPrompt,
        task,
        messages,
        state: state ? withEmptyLists(state.value, toolset.state?.lists ?? []) : null,
        promptCache,
      });
    /** The request every call makes; each adds its betas and compaction parameters. */
    const request = { model: input.model, max_tokens: input.maxOutputTokens, ...layout(transcript.messages) };
    return { instructionsRef, headRef, state, layout, request, toolset, onDemand: transcript.onDemand };
  }

  async function callModel(input: ModelCallInput): Promise<ModelCallResult> {
    const { instructionsRef, headRef, state, request, toolset, onDemand } = await prepare(input);
    // Behind an on-demand block only another on-demand compaction can shrink the context (the
    // workflow asks for one when the window is exceeded); the threshold edit would be refused.
    const context = onDemand ? undefined : compactionEdits(input.compaction);
    const reply = await streamReply(
      anthropic,
      {
        ...request,
        ...(context ? { betas: [COMPACTION_BETA], context_management: context } : {}),
        ...(onDemand ? { betas: [SUMMARIZE_BETA] } : {}),
      },
      input.turn,
    );

    const { content, refused } = refuseCalls(reply.stop_reason, reply.content);
    const kept = keepsReply(reply.stop_reason, content);
    const headNode = headRef && kept ? await readNode(store, headRef, nodes) : null;
    const cost = usageAndCost(input.model, reply.usage, prices);
    const newHead = kept
      ? await writeNode(
          store,
          appendAssistant(headNode, headRef, content, { turn: input.turn, usage: nodeUsage(cost) }),
          nodes,
        )
      : headRef!;
    const compactionBlock = content.find((b) => b.type === 'compaction');
    const refusal = reply.stop_reason === 'refusal' ? refusalDetails(reply.stop_details) : undefined;
    return {
      head: newHead,
      instructionsRef,
      stateRef: state?.ref ?? null,
      stopReason: reply.stop_reason,
      ...cost,
      compaction: compactionBlock
        ? { summarized: !!compactionBlock.content, summaryChars: compactionBlock.content?.length ?? 0 }
        : null,
      text: content
        .flatMap((b) => (b.type === 'text' ? [b.text] : []))
        .join('\n')
        .slice(0, TEXT_PREVIEW_CHARS),
      // A refused reply is not in the transcript: none of its calls may be answered, or run.
      // Heartbeating: a tool's needsApproval or approvalDetail may take a while (tools/approval.ts).
      toolCalls: kept
        ? await withHeartbeat({ turn: input.turn }, () =>
            toolCalls(
              content,
              refused,
              toolset,
              store,
              approvalIn(workspaceRoots, input, toolset),
              input.delegation !== undefined,
            ),
          )
        : [],
      ...(onDemand ? { onDemand: true as const } : {}),
      ...(refusal ? { refusal } : {}),
    };
  }

  /**
   * On-demand compaction (`compaction: { type: 'summarize' }`): the transcript becomes the one
   * block the API returns, placed first as an assistant message. Used when a context no longer
   * fits the model's window. The size after is measured with count_tokens.
   */
  async function compactTranscript(input: ModelCallInput): Promise<ModelCallResult> {
    const { instructionsRef, headRef, state, layout, request } = await prepare(input);
    const instructions = input.compaction.instructions;
    const reply = await streamReply(
      anthropic,
      {
        ...request,
        betas: [SUMMARIZE_BETA],
        compaction: { type: 'summarize', ...(instructions ? { instructions } : {}) },
      },
      input.turn,
    );
    const block = reply.content.find((b) => b.type === 'compaction');
    if (reply.stop_reason !== 'compaction' || !block?.content) {
      throw ApplicationFailure.create({
        type: 'CompactionFailed',
        message: `on-demand compaction returned no summary (stop reason ${reply.stop_reason})`,
        nonRetryable: true,
      });
    }
    const compacted = [{ role: 'assistant' as const, content: [block as ContentBlockParam] }];
    const cost = usageAndCost(input.model, reply.usage, prices);
    const node: TranscriptNode = {
      prev: null,
      message: compacted[0]!,
      onDemand: true,
      turn: input.turn,
      usage: nodeUsage(cost),
      ...(headRef ? { before: headRef } : {}),
    };
    const head = await writeNode(store, node, nodes);
    // Measured as the next call will send it: the block, then the state; breakpoints do not count.
    const after = await anthropic.beta.messages
      .countTokens({ model: input.model, ...layout(compacted, 'off'), betas: [SUMMARIZE_BETA] })
      .then((c) => c.input_tokens)
      .catch(() => 0); // a measurement only: never fail a compaction that succeeded over it
    return {
      head,
      instructionsRef,
      stateRef: state?.ref ?? null,
      stopReason: 'compaction',
      ...cost,
      compaction: { summarized: true, summaryChars: block.content.length, tokensAfter: after },
      text: '',
      toolCalls: [],
    };
  }

  return { callModel, compactTranscript };
}
