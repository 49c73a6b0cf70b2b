import type Anthropic from '@anthropic-ai/sdk';
import type { RunOptions } from '../common/options.js';
import { renderState, renderSystemPrompt } from '../common/prompt-format.js';
import type { AgentState } from '../common/state.js';

type MessageParam = Anthropic.Beta.Messages.BetaMessageParam;
type ContentBlockParam = Anthropic.Beta.Messages.BetaContentBlockParam;
type TextBlockParam = Anthropic.Beta.Messages.BetaTextBlockParam;
type ToolUnion = Anthropic.Beta.Messages.BetaToolUnion;
type CacheControl = Anthropic.Beta.Messages.BetaCacheControlEphemeral;

export type PromptCache = RunOptions['promptCache'];

/** The API takes at most this many cache_control breakpoints in one request. */
export const MAX_BREAKPOINTS = 4;

/**
 * TTLs, fixed when an entry is written. The stable prefix (tools, system prompt, the compaction
 * summary) is written once per run or per compaction and read on every call: an hour of life costs
 * 0.75x its few thousand tokens once, and outlives a person's answer or a slow tool. Each turn's
 * messages are written once and read by the next call, seconds later: 5m, at 1.25x rather than 2x.
 * Longer TTLs come before shorter ones, as the API requires.
 */
export const STABLE_TTL = '1h';
export const TURN_TTL = '5m';

export interface LayoutInput {
  tools: readonly ToolUnion[];
  systemPrompt: string;
  task: string;
  /** The transcript as stored: never changed here (the worker's TranscriptCache holds these objects). */
  messages: readonly MessageParam[];
  /** Null when state injection is off. */
  state: AgentState | null;
  promptCache: PromptCache;
}

export interface RequestLayout {
  tools: ToolUnion[];
  system: TextBlockParam[];
  messages: MessageParam[];
}

type Ttl = NonNullable<CacheControl['ttl']>;
/** A transcript message as laid out: the transcript holds user and assistant messages only. */
type Turn = { role: 'user' | 'assistant'; content: ContentBlockParam[] };

const ephemeral = (ttl: Ttl): CacheControl => ({ type: 'ephemeral', ttl });

/** A copy of the message with its content as blocks: a message's bytes never depend on its position. */
const asBlocks = (message: MessageParam): Turn => {
  const { role, content } = message as Turn | { role: Turn['role']; content: string };
  return { role, content: typeof content === 'string' ? [{ type: 'text', text: content }] : [...content] };
};

/** Puts a breakpoint on a copy of the block at `index` (the last block when negative) of a laid-out message. */
function markBlock(message: Turn, index: number, ttl: Ttl): void {
  const at = index < 0 ? message.content.length + index : index;
  const block = message.content[at];
  if (block) message.content[at] = { ...block, cache_control: ephemeral(ttl) } as ContentBlockParam;
}

/**
 * The tools, system prompt and messages of a model call, laid out for the prompt cache (the cached
 * prefix runs tools -> system -> messages, and a hit needs it byte for byte):
 * - the system prompt holds only the instructions and task, the same bytes for the whole run;
 * - the state goes in a text block at the end of the newest user message, after that message's
 *   breakpoint, so it is shown on every call and never part of a cached prefix; it is not stored,
 *   so the next call sends that message without it and the prefix up to the breakpoint is unchanged;
 * - breakpoints: the system prompt (tools and system, STABLE_TTL), a compaction block heading the
 *   messages (STABLE_TTL), the newest user message's last block, where this call writes (TURN_TTL),
 *   and the user message before it, where the previous call wrote (TURN_TTL): read exactly even
 *   when a wide turn puts more blocks between the two than the API's lookback reaches.
 * A request ending in an assistant message (a continued reply) shows the state in the user message
 * before it; with none (the reply continues a compaction block) the state is a user message of its own.
 * 'off' lays out the same with no breakpoint; 'system-state' puts the state in the system prompt.
 */
export function layoutRequest(input: LayoutInput): RequestLayout {
  const { promptCache, state } = input;
  const cached = promptCache !== 'off';
  const stableTtl: Ttl = promptCache === 'on' ? STABLE_TTL : TURN_TTL; // the control rewrites its system every turn
  const stateInSystem = promptCache === 'system-state';
  const text = renderSystemPrompt(input.systemPrompt, input.task, stateInSystem ? state : null);
  const system: TextBlockParam[] = [{ type: 'text', text, ...(cached ? { cache_control: ephemeral(stableTtl) } : {}) }];

  const messages = input.messages.map(asBlocks);
  const users = messages.flatMap((m, i) => (m.role === 'user' ? [i] : []));
  const newest = users.at(-1);
  if (cached) {
    const head = messages[0];
    if (head?.content[0]?.type === 'compaction') markBlock(head, 0, stableTtl);
    for (const i of users.slice(-2)) markBlock(messages[i]!, -1, TURN_TTL);
  }
  if (state && !stateInSystem) {
    const block: TextBlockParam = { type: 'text', text: renderState(state) };
    if (newest === undefined) messages.push({ role: 'user', content: [block] });
    else messages[newest]!.content.push(block);
  }
  return { tools: [...input.tools], system, messages };
}
