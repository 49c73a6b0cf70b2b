import { DEFAULT_MODEL, modelSpec } from '../common/models.js';
import { prefixBlocks, type CacheUsage, type PromptCache } from './cache.js';
import { compactionBlock, visibleMessages } from './compaction.js';
import { messageId, toolUseId } from './ids.js';
import { capOutput } from './output-cap.js';
import type {
  CacheFields,
  CacheTtl,
  CompactionBlock,
  InputMessage,
  IterationUsage,
  MessageResponse,
  MessagesRequest,
  OutputBlock,
  RefusalStopDetails,
  TokenCount,
} from './protocol.js';
import { systemPromptOf, toolNames, type Action, type PlannedBlock } from './scenarios/scenario.js';
import { selectScenario } from './scenarios/index.js';
import { estimateContextTokens, outputTokens, serializeContext, tokensOfChars } from './tokens.js';

/** The answer to a validated /v1/messages request, plus what the server's stats need. */
export interface Reply {
  message: MessageResponse;
  compacted: boolean;
  /** Estimated input tokens of the visible context, before any compaction of this request. */
  visibleInputTokens: number;
}

/** A refusal that maps to no named category and earns no fallback credit. */
const REFUSAL_DETAILS: RefusalStopDetails = {
  type: 'refusal',
  category: null,
  explanation: null,
  fallback_credit_token: null,
  fallback_has_prefill_claim: null,
  recommended_model: null,
};

/** Input that never met the cache: a reply that stops before sampling, or a request with no breakpoints. */
const uncached = (inputTokens: number): CacheUsage => ({
  inputTokens,
  cacheReadInputTokens: 0,
  cacheWrite5mTokens: 0,
  cacheWrite1hTokens: 0,
});

const cacheFields = (input: CacheUsage): CacheFields => ({
  cache_creation_input_tokens: input.cacheWrite5mTokens + input.cacheWrite1hTokens,
  cache_read_input_tokens: input.cacheReadInputTokens,
  cache_creation: {
    ephemeral_5m_input_tokens: input.cacheWrite5mTokens,
    ephemeral_1h_input_tokens: input.cacheWrite1hTokens,
  },
});

/** The default model context window, in estimated tokens. */
export const DEFAULT_CONTEXT_WINDOW = 200_000;

/** A turn the server paused (a `pauseTurn` fault): nothing generated yet, to be resumed. */
const PAUSED: Action = { blocks: [], stopReason: 'pause_turn' };

export function createMessage(
  request: MessagesRequest,
  secret: string,
  cache: PromptCache,
  contextWindow = DEFAULT_CONTEXT_WINDOW,
  { pauseTurn = false }: { pauseTurn?: boolean } = {},
): Reply {
  // The model table has every id the API accepts; the default model's minimum stands in for an id it lacks.
  const minCacheable = (modelSpec(request.model) ?? modelSpec(DEFAULT_MODEL)!).minCacheableTokens;
  /** One sampling's input through the shared cache: what it reads, writes and leaves uncached. */
  const cached = (messages: InputMessage[], automatic: CacheTtl | null, totalTokens: number): CacheUsage =>
    cache.use(
      request.model,
      prefixBlocks(request.tools, request.system, messages, automatic),
      totalTokens,
      minCacheable,
    );

  const visible = visibleMessages(request.messages);
  const context = serializeContext(request.system, request.tools, visible);
  const visibleInputTokens = tokensOfChars(context.length);
  const { task, instructions, state } = systemPromptOf(request.system);
  const scenario = selectScenario(task);
  // The scenario acts on the full pre-compaction context, as a real model answering in the same turn would.
  const scenarioContext = { task, instructions, tools: toolNames(request.tools), state, messages: visible };

  if (request.summarize) {
    const input = cached(visible, request.cacheControl, visibleInputTokens);
    return summarizeOnDemand(request, secret, scenario.summarize(scenarioContext), input, visibleInputTokens);
  }

  const compacts = request.compaction !== null && visibleInputTokens > request.compaction.trigger;
  const summary = compacts ? compactionBlock(scenario.summarize(scenarioContext), secret) : null;
  // A context the model cannot hold, with no compaction to shrink it first: the API stops at once.
  if (!summary && visibleInputTokens > contextWindow) {
    return {
      message: envelope(request, [], 'model_context_window_exceeded', uncached(visibleInputTokens), 0, null),
      compacted: false,
      visibleInputTokens,
    };
  }
  const action =
    summary && request.compaction?.pauseAfterCompaction ? null : pauseTurn ? PAUSED : scenario.act(scenarioContext);

  const capped = capOutput((action?.blocks ?? []).map(materialize), request.maxTokens);
  const generated = capped.blocks;
  const content: OutputBlock[] = summary ? [summary, ...generated] : generated;
  const out = outputTokens(generated);
  // The summarizing pass reads the whole visible context as sent, breakpoints and all, so it comes first.
  const summarizing = summary ? cached(visible, request.cacheControl, visibleInputTokens) : null;
  // After compaction the model's input is only the new block (plus system and tools): the breakpoints
  // on tools and system still apply; those on the dropped messages, and the automatic one on the
  // request's last block, no longer do.
  const modelInput: InputMessage[] = summary ? [{ role: 'assistant', content: [{ ...summary }] }] : visible;
  const input = summary
    ? cached(modelInput, null, estimateContextTokens(request.system, request.tools, modelInput))
    : cached(visible, request.cacheControl, visibleInputTokens);

  const iterations: IterationUsage[] = [
    ...(summary && summarizing ? [compactionIteration(summary, summarizing)] : []),
    {
      type: 'message',
      input_tokens: input.inputTokens,
      output_tokens: out,
      ...cacheFields(input),
      model: request.model,
    },
  ];
  const message = envelope(
    request,
    content,
    capped.truncated ? 'max_tokens' : (action?.stopReason ?? 'compaction'),
    input,
    out,
    request.compactionBeta ? iterations : null,
  );
  return { message, compacted: summary !== null, visibleInputTokens };
}

function envelope(
  request: MessagesRequest,
  content: OutputBlock[],
  stopReason: MessageResponse['stop_reason'],
  input: CacheUsage,
  outputTokens: number,
  iterations: IterationUsage[] | null,
): MessageResponse {
  return {
    id: messageId(),
    type: 'message',
    role: 'assistant',
    model: request.model,
    content,
    stop_reason: stopReason,
    stop_sequence: null,
    stop_details: stopReason === 'refusal' ? REFUSAL_DETAILS : null,
    container: null,
    context_management: { applied_edits: [] },
    // Null: no request here supplies `diagnostics`, and the simulator reports no cache divergence.
    diagnostics: null,
    usage: { input_tokens: input.inputTokens, output_tokens: outputTokens, ...cacheFields(input), iterations },
  };
}

/**
 * On-demand compaction: the reply holds only the block, top-level usage is zero and
 * the cost is in the `compaction` iteration.
 */
function summarizeOnDemand(
  request: MessagesRequest,
  secret: string,
  summary: string,
  input: CacheUsage,
  visibleInputTokens: number,
): Reply {
  const block = compactionBlock(summary, secret, 'on-demand');
  const iteration = compactionIteration(block, input);
  // A summary longer than max_tokens never comes back: 200, no content, the summarizer's stop reason.
  if (iteration.output_tokens > request.maxTokens) {
    const cut = { ...iteration, output_tokens: request.maxTokens };
    return {
      message: envelope(request, [], 'max_tokens', uncached(0), 0, [cut]),
      compacted: false,
      visibleInputTokens,
    };
  }
  const message = envelope(request, [block], 'compaction', uncached(0), 0, [iteration]);
  return { message, compacted: true, visibleInputTokens };
}

/** The summarizing pass: it reads the context it closes, through the cache like any sampling. */
function compactionIteration(block: CompactionBlock, input: CacheUsage): IterationUsage {
  return {
    type: 'compaction',
    input_tokens: input.inputTokens,
    output_tokens: tokensOfChars((block.content ?? '').length),
    ...cacheFields(input),
  };
}

/** Tool ids are random, as the real API's: unique to the reply. */
function materialize(block: PlannedBlock): OutputBlock {
  return block.type === 'text' ? block : { type: 'tool_use', id: toolUseId(), name: block.name, input: block.input };
}

/** count_tokens applies compaction blocks already in the prompt but never compacts. */
export function countTokens(request: MessagesRequest): TokenCount {
  const visible = visibleMessages(request.messages);
  const inputTokens = estimateContextTokens(request.system, request.tools, visible);
  const applied = visible !== request.messages;
  return {
    input_tokens: inputTokens,
    context_management: applied
      ? { original_input_tokens: estimateContextTokens(request.system, request.tools, request.messages) }
      : null,
  };
}
