/** `longhaul export`: a run's transcript, read from the store, as Markdown or JSON; and its Temporal history. */
import type Anthropic from '@anthropic-ai/sdk';
import { ApplicationFailure } from '@temporalio/common';
import { WorkflowFailedError, WorkflowNotFoundError, type Client, type WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import type { BlobStore } from '../store/blob-store.js';
import { loadMessages } from '../store/transcript.js';
import type { AgentRunWorkflow } from '../common/messages.js';
import { progressQuery, stateQuery, type Progress, type RunResult } from '../common/messages.js';
import type { AgentState } from '../common/state.js';
import { cacheReadShare } from '../common/counters.js';
import { buildProgress } from '../common/progress.js';
import { progressLine } from './format.js';

type MessageParam = Anthropic.Beta.Messages.BetaMessageParam;
type ContentBlockParam = Anthropic.Beta.Messages.BetaContentBlockParam;

export interface RunExport {
  id: string;
  status: Progress['status'];
  reason?: string;
  report?: string;
  counters: Progress['counters'];
  /** Dollars the priced calls cost, the calls without a price, and the share of input read from the cache. */
  cost: { usd: number; unpricedCalls: number; cacheReadShare: number };
  maxTurns: number;
  compactions: Progress['compactions'];
  chain: Progress['chain'];
  state: AgentState;
  /** The system prompt and task as the run stored them; null before the first model call. */
  instructions: { systemPrompt: string; task: string } | null;
  /** The messages exactly as the API gets them: from the last compaction (or the start) to the head. */
  messages: MessageParam[];
}

/** The run's result, also for a failed run (whose result travels in the failure's details). */
export async function awaitResult(handle: WorkflowHandle<AgentRunWorkflow>): Promise<RunResult> {
  try {
    return await handle.result();
  } catch (err) {
    const cause = err instanceof WorkflowFailedError ? err.cause : undefined;
    if (cause instanceof ApplicationFailure && cause.type === 'RunFailed' && cause.details?.[0]) {
      return cause.details[0] as RunResult;
    }
    throw err;
  }
}

/**
 * What export needs of a run. A closed run's result says where its transcript is, so it is read
 * without a worker (workers are often gone once the work is done); a running run, or one closed
 * without a result (terminated, or from before results carried it), is queried, which needs one.
 * A bad id fails here, before the store is opened.
 */
export async function readRun(client: Client, runId: string): Promise<{ progress: Progress; state: AgentState }> {
  const handle = client.workflow.getHandle<AgentRunWorkflow>(runId);
  try {
    const { status } = await handle.describe();
    if (status.name === 'COMPLETED' || status.name === 'FAILED') {
      const result = await awaitResult(handle);
      if (result.head !== undefined && result.maxTurns !== undefined)
        return {
          progress: buildProgress({ ...result, maxTurns: result.maxTurns }, result.status, result.reason),
          state: result.state,
        };
    }
    return { progress: await handle.query(progressQuery), state: await handle.query(stateQuery) };
  } catch (err) {
    if (err instanceof WorkflowNotFoundError)
      throw new Error(`no run with id ${JSON.stringify(runId)}`, { cause: err });
    throw err;
  }
}

export async function readExport(
  runId: string,
  run: { progress: Progress; state: AgentState },
  store: BlobStore,
): Promise<RunExport> {
  const p = run.progress;
  return {
    id: runId,
    status: p.status,
    ...(p.reason !== undefined ? { reason: p.reason } : {}),
    ...(p.report !== undefined ? { report: p.report } : {}),
    counters: p.counters,
    cost: {
      usd: p.counters.costNanos / 1e9,
      unpricedCalls: p.counters.unpricedCalls,
      cacheReadShare: cacheReadShare(p.counters),
    },
    maxTurns: p.maxTurns,
    compactions: p.compactions,
    chain: p.chain,
    state: run.state,
    instructions: p.instructionsRef
      ? (JSON.parse(await store.get(p.instructionsRef)) as RunExport['instructions'])
      : null,
    messages: await loadMessages(store, p.head),
  };
}

/** Tool inputs and results longer than this are cut in Markdown; the JSON export has them whole. */
export const MARKDOWN_LIMIT = 2_000;

function truncated(text: string): string {
  if (text.length <= MARKDOWN_LIMIT) return text;
  return `${text.slice(0, MARKDOWN_LIMIT)}\n[truncated: the first ${MARKDOWN_LIMIT} of ${text.length} characters are shown; --format json has all of it]`;
}

/** A fenced block whose fence is longer than any run of backticks inside it. */
function fenced(text: string, lang = ''): string {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(longest + 1);
  return `${fence}${lang}\n${text}\n${fence}`;
}

function resultText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((b: { type: string; text?: string }) => (b.type === 'text' ? (b.text ?? '') : `[${b.type} block]`))
    .join('\n');
}

function blockMarkdown(block: ContentBlockParam): string {
  switch (block.type) {
    case 'text':
      return block.text;
    case 'tool_use':
      return `**tool call** \`${block.name}\` (${block.id})\n\n${fenced(truncated(JSON.stringify(block.input, null, 2)), 'json')}`;
    case 'tool_result':
      return `**tool result** for ${block.tool_use_id}${block.is_error ? ' (error)' : ''}\n\n${fenced(truncated(resultText(block.content)))}`;
    case 'compaction':
      return block.content ? `[compaction summary: ${block.content}]` : '[compaction: no summary]';
    case 'thinking':
      return `> thinking: ${block.thinking.replace(/\n/g, '\n> ')}`;
    default:
      return `[${block.type} block]`;
  }
}

/** The transcript for people to read: instructions, every message in order, the report. */
export function exportMarkdown(e: RunExport, progress: Progress): string {
  const out = [`# longhaul run ${e.id}`, '', progressLine(progress)];
  if (e.reason) out.push('', `reason: ${e.reason}`);
  if (e.instructions) {
    out.push('', '## System prompt', '', e.instructions.systemPrompt, '', '## Task', '', e.instructions.task);
  }
  out.push('', '## Transcript');
  // A compaction cuts the chain: the store keeps what the model sees, from the summary on.
  const cut = e.messages[0]?.role === 'assistant';
  if (cut) out.push('', '_Earlier turns were compacted; the transcript starts at the last compaction summary._');
  if (e.messages.length === 0) out.push('', '_No model call yet._');
  let turn = 0;
  for (const message of e.messages) {
    // Each turn's reply is one assistant message; numbers are known only from the start of the run.
    const heading = message.role !== 'assistant' ? message.role : cut ? 'assistant' : `assistant, turn ${++turn}`;
    const content = message.content ?? '';
    const blocks = typeof content === 'string' ? [content] : content.map(blockMarkdown);
    out.push('', `### ${heading}`, '', blocks.join('\n\n'));
  }
  if (e.report !== undefined) out.push('', '## Report', '', e.report);
  return `${out.join('\n')}\n`;
}

/**
 * The Temporal event history of every run of the chain (continue-as-new), oldest first, walking
 * back from the latest run through each start event's `continuedExecutionRunId`. Each `history` is
 * in the form `temporal workflow show --output json` writes and `historyFromJSON` reads, payloads
 * as the server holds them (encrypted when encryption is on).
 */
export async function chainHistoryJSON(
  client: Client,
  runId: string,
): Promise<{ json: string; runs: number; events: number }> {
  const latest = await client.workflow.getHandle(runId).describe();
  const runs: { runId: string; history: unknown }[] = [];
  let events = 0;
  for (let id: string | undefined = latest.runId; id;) {
    const history = await client.workflow.getHandle(runId, id).fetchHistory();
    events += history.events?.length ?? 0;
    runs.unshift({ runId: id, history: JSON.parse(historyToJSON(history)) });
    id = history.events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId || undefined;
  }
  return { json: `${JSON.stringify({ workflowId: runId, runs }, null, 2)}\n`, runs: runs.length, events };
}
