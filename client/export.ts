/** `longhaul export`: a run's transcript, read from the store, as Markdown or JSON; and its Temporal history. */
import type Anthropic from '@anthropic-ai/sdk';
import { ApplicationFailure } from '@temporalio/common';
import { WorkflowFailedError, WorkflowNotFoundError, type Client, type WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import type { BlobStore } from '../store/blob-store.js';
import { readChain } from '../store/chain.js';
import type { ClosedEscalation, Escalation } from '../common/escalation.js';
import type { AgentRunWorkflow } from '../common/messages.js';
import { progressQuery, stateQuery, type Progress, type RunResult } from '../common/messages.js';
import type { AgentState } from '../common/state.js';
import { cacheReadShare } from '../common/counters.js';
import { buildProgress } from '../common/progress.js';
import { childrenText, progressLine } from './format.js';

type MessageParam = Anthropic.Beta.Messages.BetaMessageParam;
type ContentBlockParam = Anthropic.Beta.Messages.BetaContentBlockParam;

/** An escalation: closed ones have their outcome (who answered what, when). */
export type ExportEscalation = ClosedEscalation | (Escalation & { outcome?: undefined });

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
  /** Every escalation of the run, oldest first; the open one (no outcome) last. */
  escalations: ExportEscalation[];
  chain: Progress['chain'];
  state: AgentState;
  /** The system prompt and task as the run stored them; null before the first model call. */
  instructions: { systemPrompt: string; task: string } | null;
  /**
   * The whole record, oldest first, as the API got each message: every run of the chain, across
   * compactions (a message that starts with a compaction block is where the model's context was cut).
   */
  messages: MessageParam[];
  /**
   * `turns[i]` is the turn of `messages[i]` (a user message and the reply to it make a turn); null
   * for nodes written before turns were recorded, with the run's start out of reach.
   */
  turns: (number | null)[];
  /** The run's sub-agents (each exported on its own id) and the totals with theirs; absent for a run without any. */
  children?: Progress['children'];
  totals?: Progress['totals'];
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
    escalations: [...p.escalations, ...(p.escalation ? [p.escalation] : [])],
    chain: p.chain,
    state: run.state,
    instructions: p.instructionsRef
      ? (JSON.parse(await store.get(p.instructionsRef)) as RunExport['instructions'])
      : null,
    ...(await readChain(store, p.head).then((chain) => ({
      messages: chain.map((e) => e.message),
      turns: chain.map((e) => e.turn),
    }))),
    ...(p.children && p.totals ? { children: p.children, totals: p.totals } : {}),
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

const quoted = (text: string) => `> ${text.replace(/\n/g, '\n> ')}`;

/** An escalation for people: what was asked (and the call held), and who answered what, when. */
export function escalationMarkdown(e: ExportEscalation): string {
  const turn = e.turn !== undefined ? `, turn ${e.turn}` : '';
  const out = [
    `#### escalation ${e.id}: ${e.kind}${turn}`,
    '',
    `opened ${e.openedAt}, deadline ${e.deadline}`,
    '',
    quoted(e.question),
  ];
  const held = e.heldToolCall;
  if (held) out.push('', `held call: ${held.display ?? `\`${held.name}\` (${held.id})`}`);
  const o = e.outcome;
  if (!o) out.push('', '**open**: waiting on a person');
  else {
    const by = o.by === 'timeout' ? "the run's default, nobody answered before the deadline" : o.by;
    const granted = [
      o.turns !== undefined ? `${o.turns} turns` : '',
      o.tokens !== undefined ? `${o.tokens} tokens` : '',
      o.usd !== undefined ? `$${o.usd}` : '',
    ].filter(Boolean);
    out.push('', `**${o.decision}** by ${by} at ${o.at}${granted.length ? ` (granted ${granted.join(', ')})` : ''}`);
    if (o.message !== undefined) out.push('', quoted(o.message));
  }
  return out.join('\n');
}

/**
 * The transcript for people to read: instructions, every message of the run in order with its
 * turn, compaction summaries in place, each escalation after the turn that raised it (or, from
 * runs that did not record it, with the rest at the end), the report.
 */
export function exportMarkdown(e: RunExport, progress: Progress): string {
  const out = [`# longhaul run ${e.id}`, '', progressLine(progress)];
  if (e.reason) out.push('', `reason: ${e.reason}`);
  const children = childrenText(e.children, e.totals);
  if (children)
    out.push(
      '',
      '## Sub-agents',
      '',
      fenced(children),
      '',
      '_Each is exported on its own id: `longhaul export SUB-AGENT`._',
    );
  if (e.instructions) {
    out.push('', '## System prompt', '', e.instructions.systemPrompt, '', '## Task', '', e.instructions.task);
  }
  out.push('', '## Transcript');
  const cutAt = (m: MessageParam | undefined) => Array.isArray(m?.content) && m.content[0]?.type === 'compaction';
  if (cutAt(e.messages[0]))
    out.push('', '_The record starts at a compaction summary: the run kept nothing of the turns before it._');
  if (e.messages.length === 0) out.push('', '_No model call yet._');
  const placed = e.escalations.filter((x) => x.turn !== undefined).sort((a, b) => a.turn! - b.turn!);
  let next = 0;
  const escalationsUpTo = (turn: number) => {
    for (; next < placed.length && placed[next]!.turn! <= turn; next++) out.push('', escalationMarkdown(placed[next]!));
  };
  for (const [i, message] of e.messages.entries()) {
    const turn = e.turns[i] ?? null;
    // A turn's escalations (its held calls) come before its results, in the next turn's message.
    if (turn !== null) escalationsUpTo(turn - 1);
    const numbered = turn !== null ? `, turn ${turn}` : ' (turn unknown)';
    const heading =
      message.role === 'user' ? 'user' : `assistant${numbered}${cutAt(message) ? ' (compaction summary first)' : ''}`;
    const content = message.content ?? '';
    const blocks = typeof content === 'string' ? [content] : content.map(blockMarkdown);
    out.push('', `### ${heading}`, '', blocks.join('\n\n'));
  }
  escalationsUpTo(Infinity);
  const unplaced = e.escalations.filter((x) => x.turn === undefined);
  if (unplaced.length) {
    out.push('', '## Escalations', '', '_This run did not record the turn of these; oldest first._');
    for (const x of unplaced) out.push('', escalationMarkdown(x));
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
