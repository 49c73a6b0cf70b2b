import { readState, readSystemPrompt, type AgentState } from '../../common/prompt-format.js';
import { blocksOf, type InputBlock, type InputMessage, type StopReason } from '../protocol.js';

/**
 * What a scripted "model" sees and returns. It decides only from the request: the task in the system
 * prompt, the state where the client shows it (promptOf), and the visible messages (from the last compaction block on).
 */
export interface ScenarioContext {
  task: string;
  /** The system prompt's instructions: what precedes the <task> section. */
  instructions: string;
  /** The names of the tools the request offers. */
  tools: string[];
  /** Null when the client does not inject its state: then only the messages and the summary remain. */
  state: AgentState | null;
  messages: InputMessage[];
}

/** A block the scenario plans; the server gives tool_use blocks their deterministic ids. */
export type PlannedBlock = { type: 'text'; text: string } | { type: 'tool_use'; name: string; input: unknown };

export interface Action {
  blocks: PlannedBlock[];
  stopReason: Exclude<StopReason, 'compaction'>;
}

export interface Scenario {
  act(context: ScenarioContext): Action;
  /** The compaction summary of the context; lossy on purpose, like a real one. */
  summarize(context: ScenarioContext): string;
}

export const DEFAULT_SUMMARY = 'Summary of the earlier conversation. Tool results are not kept.';

export const text = (value: string): PlannedBlock => ({ type: 'text', text: value });
export const toolUse = (name: string, input: unknown): PlannedBlock => ({ type: 'tool_use', name, input });
/** A reply that ends the run with `report`, after the calls `before` (an update_state, say). */
export const finish = (report: string, before: PlannedBlock[] = []): Action => ({
  blocks: [...before, toolUse('finish', { report })],
  stopReason: 'tool_use',
});

/** A field of a tool call's input, when the input is an object (the model may send anything). */
export const inputField = (input: unknown, key: string): unknown =>
  typeof input === 'object' && input !== null ? (input as Record<string, unknown>)[key] : undefined;

/** The system prompt as the request sent it: a string, or text blocks. */
function systemPromptOf(system: unknown): { task: string; instructions: string; state: AgentState | null } {
  const prompt = Array.isArray(system)
    ? system.map((block: { text: string }) => block.text).join('\n')
    : typeof system === 'string'
      ? system
      : '';
  return readSystemPrompt(prompt);
}

/**
 * What the client told the model: the task and instructions from the system prompt, the state from
 * the text blocks of the newest user message (where longhaul shows it), else from the system prompt.
 */
export function promptOf(
  system: unknown,
  messages: InputMessage[],
): { task: string; instructions: string; state: AgentState | null } {
  const prompt = systemPromptOf(system);
  const newest = messages.findLast((m) => m.role === 'user');
  const texts = newest ? blocksOf(newest).filter((b) => b.type === 'text' && typeof b.text === 'string') : [];
  const shown = texts.map((b) => readState(b.text as string)).findLast((state) => state !== null);
  return { ...prompt, state: shown ?? prompt.state };
}

export function toolNames(tools: unknown): string[] {
  return Array.isArray(tools)
    ? tools.flatMap((t: { name?: unknown }) => (typeof t?.name === 'string' ? [t.name] : []))
    : [];
}

/** A visible tool call and, once the client answered it, its result. */
export interface ToolExchange {
  name: string;
  input: unknown;
  result: { text: string; isError: boolean } | null;
}

export const toolExchanges = (messages: InputMessage[]): ToolExchange[] => [...exchangesOf(messages).byId.values()];

/** The answered calls, in the order of their tool_result blocks (a client should keep the calls' order). */
export const answeredInResultOrder = (messages: InputMessage[]): ToolExchange[] => exchangesOf(messages).answered;

function exchangesOf(messages: InputMessage[]): { byId: Map<string, ToolExchange>; answered: ToolExchange[] } {
  const byId = new Map<string, ToolExchange>();
  const answered: ToolExchange[] = [];
  for (const message of messages) {
    for (const block of blocksOf(message)) {
      if (block.type === 'tool_use') {
        byId.set(String(block.id), { name: String(block.name), input: block.input, result: null });
      } else if (block.type === 'tool_result') {
        const exchange = byId.get(String(block.tool_use_id));
        if (!exchange) continue;
        exchange.result = { text: resultText(block), isError: block.is_error === true };
        answered.push(exchange);
      }
    }
  }
  return { byId, answered };
}

/** tool_result content is a string or an array of blocks, of which only text matters here. */
function resultText(block: InputBlock): string {
  const { content } = block;
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .filter(
      (part: InputBlock | null): part is { type: 'text'; text: string } =>
        part?.type === 'text' && typeof part.text === 'string',
    )
    .map((part) => part.text)
    .join('\n');
}

/** The summary of the compaction block that opens the visible messages, if there is one. */
export function visibleSummary(messages: InputMessage[]): string | null {
  const first = messages[0] ? blocksOf(messages[0])[0] : undefined;
  return first?.type === 'compaction' && typeof first.content === 'string' ? first.content : null;
}
