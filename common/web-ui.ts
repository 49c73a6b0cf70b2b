import { formatUsd } from './cost.js';
import { ALLOWED, type Decision, type Escalation, type EscalationKind } from './escalation.js';
import { cutText } from './input-bounds.js';
import type { VisibleStatus } from './messages.js';
import type { RunOptions, RunOptionsInput } from './options.js';

/** What the Temporal Web UI shows of a run besides its history: its user metadata, in pure functions. */

/** A summary is one line in the Web UI's lists. */
export const SUMMARY_CHARS = 120;

/** The run's static summary, set when it is started: its agent and its task's first line. */
export function staticSummary(options: Pick<RunOptionsInput, 'agent' | 'task'>): string {
  const firstLine = options.task.trim().split('\n', 1)[0]!.trim();
  return cutText(`${options.agent ?? 'workspace agent'}: ${firstLine}`, SUMMARY_CHARS);
}

/**
 * The run's static details: the options that say what it may do and spend, as submitted, with the
 * defaults `parsed` filled in for what is unset (an agent's defaults may replace those). Never the
 * system prompt or the webhook's URL (which may hold a token).
 */
export function staticDetails(submitted: RunOptionsInput, parsed: RunOptions): string {
  const unset = submitted.agent === undefined ? 'default' : `default, unless the agent sets it`;
  const shown = (given: unknown, text: string) => (given === undefined ? `${text} (${unset})` : text);
  const { escalation } = parsed;
  return [
    `- Model: ${shown(submitted.model, parsed.model)}`,
    `- Turn cap: ${shown(submitted.maxTurns, String(parsed.maxTurns))}`,
    `- Token budget: ${shown(submitted.tokenBudget, parsed.tokenBudget === undefined ? 'none' : String(parsed.tokenBudget))}`,
    `- Dollar budget: ${shown(submitted.budgetUsd, parsed.budgetUsd === undefined ? 'none' : `$${parsed.budgetUsd}`)}`,
    `- Workspace: ${cutText(parsed.workspace, 200)}`,
    `- A person has ${shown(submitted.escalation?.timeoutSeconds, `${escalation.timeoutSeconds} s`)} to answer; then: ${shown(submitted.escalation?.onTimeout, escalation.onTimeout)}`,
  ].join('\n');
}

/**
 * A run's "current details" (setCurrentDetails; Markdown, which the Web UI renders): where the run
 * stands and, while a person is asked, the question and how to answer it, with the CLI and with the
 * Web UI's own signal form. Pure, so the workflow and the tests share it.
 */
export interface DetailsSource {
  workflowId: string;
  status: VisibleStatus;
  turn: number;
  maxTurns: number;
  costNanos: number;
  unpricedCalls: number;
  compactions: number;
  runInChain: number;
  reason?: string | undefined;
  escalation: Escalation | null;
  /** What applies when the deadline passes with no answer. */
  onTimeout?: 'deny' | 'stop';
  /** Answers refused so far, the newest last (the run keeps the newest 100). */
  ignoredResponses: readonly { reason: string; at: string }[];
}

/** The question is shown whole up to this; the approval detail below a held call's line can be long. */
export const QUESTION_CHARS = 2_000;
export const QUESTION_LINES = 40;
const REASON_CHARS = 300;

const HEADLINE: Record<VisibleStatus, string> = {
  running: 'Running',
  awaiting_human: 'Waiting on a person',
  completed: 'Completed',
  stopped: 'Stopped',
  failed: 'Failed',
  continued: 'Continued as new',
  cancelled: 'Cancelled',
};

export function currentDetails(s: DetailsSource): string {
  const lines = [`**${HEADLINE[s.status]}** · ${progressLine(s)}`];
  if (s.status === 'continued')
    lines.push(
      '',
      `This run handed on to run ${s.runInChain + 1} of the chain: the live run is the latest of this workflow id.`,
    );
  if (s.reason) lines.push('', `Reason: ${cutText(s.reason, REASON_CHARS)}`);
  if (s.escalation && s.status === 'awaiting_human')
    lines.push('', ...waiting(s.workflowId, s.escalation, s.onTimeout));
  const last = s.ignoredResponses.at(-1);
  if (last) {
    const count = s.ignoredResponses.length;
    lines.push(
      '',
      `**Last ignored answer** (${last.at}${count > 1 ? `; ${count} ignored so far` : ''}): ${cutText(oneLine(last.reason), REASON_CHARS)}`,
    );
  }
  return lines.join('\n');
}

function progressLine(s: DetailsSource): string {
  const cost = s.unpricedCalls
    ? `${formatUsd(s.costNanos)} (+${s.unpricedCalls} unpriced calls)`
    : formatUsd(s.costNanos);
  const compactions = `${s.compactions} compaction${s.compactions === 1 ? '' : 's'}`;
  return `turn ${s.turn} of ${s.maxTurns} · ${cost} · ${compactions} · run ${s.runInChain} of its chain`;
}

function waiting(workflowId: string, e: Escalation, onTimeout: DetailsSource['onTimeout']): string[] {
  const decisions = ALLOWED[e.kind];
  const atDeadline =
    onTimeout === undefined ? '' : ` (then: ${onTimeout === 'deny' && decisions.includes('deny') ? 'deny' : 'stop'})`;
  return [
    `### ${e.id} (${e.kind}): ${cutText(oneLine(e.reason), REASON_CHARS)}`,
    ...(e.heldToolCall ? [`Held call: \`${e.heldToolCall.name}\` (${e.heldToolCall.id})`] : []),
    ...fenced(shortQuestion(e.question)),
    `Answer by **${e.deadline}**${atDeadline}.`,
    '',
    '**Answer with the CLI:**',
    ...decisions.map((d) => `- \`${cliCommand(workflowId, e.kind, d)}\``),
    '',
    '**Or in this page:** Send a Signal named `humanResponse` with one of:',
    ...decisions.map((d) => `- \`${JSON.stringify(signalAnswer(e, d))}\``),
  ];
}

/** The question cut at a line and character budget, saying that it was. */
export function shortQuestion(question: string): string {
  const lines = question.split('\n');
  let text = lines.slice(0, QUESTION_LINES).join('\n');
  const cut = lines.length > QUESTION_LINES || text.length > QUESTION_CHARS;
  text = text.slice(0, QUESTION_CHARS);
  return cut ? `${text}\n… (cut; \`longhaul held <id>\` or the \`escalation\` query shows it whole)` : text;
}

/** A fence longer than any run of backticks inside, so the text cannot close it. */
function fenced(text: string): string[] {
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return [`${fence}text`, text, fence];
}

const oneLine = (text: string) => text.replace(/\s*\n\s*/g, ' ');

/** A run id as a shell word: longhaul's ids need no quotes; any other is single-quoted. */
const shellWord = (word: string) => (/^[\w.:@-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`);

const EXTEND_FLAG: Partial<Record<EscalationKind, string>> = {
  turn_cap: '--turns 50',
  token_budget: '--tokens 100000',
  cost_budget: '--usd 5',
};

/** The CLI command that gives this decision (placeholders in the text a person fills in). */
export function cliCommand(workflowId: string, kind: EscalationKind, decision: Decision): string {
  const id = shellWord(workflowId);
  switch (decision) {
    case 'approve':
      return `longhaul approve ${id}`;
    case 'deny':
      return `longhaul deny ${id} --message "why not"`;
    case 'reply':
      return `longhaul reply ${id} "your answer"`;
    case 'extend':
      return `longhaul extend ${id} ${EXTEND_FLAG[kind] ?? '--turns 50'}`;
    case 'stop':
      return `longhaul stop ${id}`;
  }
}

/** The `humanResponse` signal's input for this decision, as the Web UI's signal form takes it. */
export function signalAnswer(e: Pick<Escalation, 'id' | 'kind'>, decision: Decision): Record<string, unknown> {
  const base = { escalationId: e.id, decision };
  switch (decision) {
    case 'deny':
      return { ...base, message: 'why not' };
    case 'reply':
      return { ...base, message: 'your answer' };
    case 'extend':
      return e.kind === 'cost_budget'
        ? { ...base, usd: 5 }
        : e.kind === 'token_budget'
          ? { ...base, tokens: 100_000 }
          : { ...base, turns: 50 };
    default:
      return base;
  }
}
