import type { Finding } from '../../common/prompt-format.js';
import { auditItemName, auditReport, NOTE_EVERY, readProgress } from './audit.js';
import {
  DEFAULT_SUMMARY,
  finish,
  inputField,
  text,
  toolExchanges,
  toolUse,
  type Action,
  type PlannedBlock,
  type Scenario,
  type ScenarioContext,
} from './scenario.js';

/**
 * The wide audit, over the long audit's workspace (audit.ts):
 * - a ranged, batched audit reads a range of the files, up to K of them per reply (read-only
 *   calls of one reply, which a client may run at once), records them with update_state, writes
 *   its progress notes under a directory of its own range and finishes with the report over its
 *   range; over the whole workspace it gives the long audit's report;
 * - a parent lists the workspace, splits the files into M contiguous ranges, delegates each to a
 *   sub-agent in one reply and merges their reports into the report one agent would write.
 */

/** longhaul's built-in sub-agent tool (common/delegation.ts, which the simulator does not import). */
const DELEGATE_TOOL = 'delegate';
const RANGED_PATTERN =
  /Audit the files item-(\d+)\.txt to item-(\d+)\.txt of the (\d+) files in the workspace, reading (\d+) files per reply/;
const REPORT_FILE_PATTERN = /Write the report to (\S+) before you finish\./;
const PARENT_PATTERN =
  /Audit the (\d+) files of the workspace with (\d+) sub-agents of the agent "([^"]+)", each reading (\d+) files per reply/;

/** A ranged audit: items `from` to `to` (1-based, inclusive) of the `n` files, `perReply` reads a reply. */
export interface AuditRange {
  n: number;
  from: number;
  to: number;
  perReply: number;
  /** Where the report is written before finishing (the parent writes it when children audit). */
  reportFile?: string;
}

/** A parent audit: the `n` files split among `children` sub-agents of profile `agent`. */
export interface WideAudit {
  n: number;
  children: number;
  agent: string;
  perReply: number;
}

/** The directory of a range's progress notes: unique to the range, so no two sub-agents write one file. */
export function rangeNotesDir({ n, from, to }: Pick<AuditRange, 'n' | 'from' | 'to'>): string {
  const digits = (i: number) => auditItemName(i, n).slice('item-'.length, -'.txt'.length);
  return `notes/items-${digits(from)}-${digits(to)}`;
}

export function rangedAuditTask(range: AuditRange): string {
  const { n, from, to, perReply, reportFile } = range;
  const task =
    `Audit the files ${auditItemName(from, n)} to ${auditItemName(to, n)} of the ${n} files in the workspace, ` +
    `reading ${perReply} files per reply: read them with read_file, record each file's risk with update_state, ` +
    `write a progress note every ${NOTE_EVERY} files under ${rangeNotesDir(range)}/, and finish with a report over these files.`;
  return reportFile ? `${task} Write the report to ${reportFile} before you finish.` : task;
}

export function wideAuditTask({ n, children, agent, perReply }: WideAudit): string {
  return (
    `Audit the ${n} files of the workspace with ${children} sub-agents of the agent "${agent}", ` +
    `each reading ${perReply} files per reply: list the workspace, delegate one range of the files to each ` +
    'sub-agent in a single reply, merge their reports into one, write it to report.md and finish with it.'
  );
}

/** The ranges of `n` items split into `m` contiguous groups whose sizes differ by at most one. */
export function splitRanges(n: number, m: number): { from: number; to: number }[] {
  const groups = Math.min(m, n);
  return Array.from({ length: groups }, (_, g) => ({
    from: Math.floor((g * n) / groups) + 1,
    to: Math.floor(((g + 1) * n) / groups),
  }));
}

/**
 * The findings of an audit report (auditReport's format), found anywhere in `text` (a delegate
 * result may wrap it), or null when there is none or its counts do not add up. Details are not in
 * the report, so they are empty.
 */
export function parseAuditReport(text: string): { audited: number; findings: Finding[] } | null {
  const header = /^Audit report: (\d+) files audited, (\d+) findings\.$/m.exec(text);
  if (!header) return null;
  const findings: Finding[] = [];
  for (const line of text.matchAll(/^(critical|high|medium|low) \((\d+)\): (.+)$/gm)) {
    const items = line[3]!.split(', ');
    if (items.length !== Number(line[2])) return null;
    findings.push(...items.map((item) => ({ item, severity: line[1] as Finding['severity'], detail: '' })));
  }
  const audited = Number(header[1]);
  const noRisk = /^no risk: (\d+) files$/m.exec(text);
  if (findings.length !== Number(header[2]) || Number(noRisk?.[1]) !== audited - findings.length) return null;
  return { audited, findings };
}

// ---------------------------------------------------------------------------------------------
// The ranged audit.

const sentence = (said: string[]) => {
  const joined = said.join('; ');
  return text(`${joined.charAt(0).toUpperCase()}${joined.slice(1)}.`);
};

const span = (names: string[]) => (names.length === 1 ? names[0]! : `${names[0]} to ${names.at(-1)}`);

function rangedAct(range: AuditRange, context: ScenarioContext): Action {
  const { n, from, to, perReply, reportFile } = range;
  const { done, findings, pending } = readProgress(n, context, from);
  const size = to - from + 1;
  const inRange = (i: number) => i >= from && i <= to;
  const doneIn = (set: Set<number>) => [...set].filter(inRange).length;
  const blocks: PlannedBlock[] = [];
  const said: string[] = [];
  const newFindings = pending.flatMap((p) => (p.finding ? [p.finding] : []));

  const doneAfter = new Set(done);
  if (pending.length > 0) {
    const names = pending.map((p) => p.name);
    said.push(`recording ${span(names)}`);
    blocks.push(
      toolUse('update_state', { mark_done: names, ...(newFindings.length ? { add_findings: newFindings } : {}) }),
    );
    for (const p of pending) doneAfter.add(p.index);
  }
  const before = doneIn(done);
  const after = doneIn(doneAfter);
  if (Math.floor(after / NOTE_EVERY) > Math.floor(before / NOTE_EVERY)) {
    const note = `Audited ${after} of the ${size} files ${auditItemName(from, n)} to ${auditItemName(to, n)}.\n`;
    // Named by the multiple of NOTE_EVERY reached, whatever the batch size.
    const reached = Math.floor(after / NOTE_EVERY) * NOTE_EVERY;
    blocks.push(toolUse('write_file', { path: `${rangeNotesDir(range)}/progress-${reached}.md`, content: note }));
  }

  const inFlight = new Set([...done, ...pending.map((p) => p.index)]);
  const next = Array.from({ length: size }, (_, k) => from + k)
    .filter((i) => !inFlight.has(i))
    .slice(0, perReply);
  if (next.length > 0) {
    const names = next.map((i) => auditItemName(i, n));
    said.push(`reading ${span(names)}`);
    blocks.push(...names.map((path) => toolUse('read_file', { path })));
  } else if (after === size) {
    said.push('writing the report');
    const report = auditReport(size, [...findings, ...newFindings]);
    if (reportFile) blocks.push(toolUse('write_file', { path: reportFile, content: report }));
    blocks.push(toolUse('finish', { report }));
  }
  return { blocks: [sentence(said), ...blocks], stopReason: 'tool_use' };
}

/** Lossy, like the long audit's: a cursor survives, no tool results and no findings. */
function rangedSummary(range: AuditRange, context: ScenarioContext): string {
  const { done } = readProgress(range.n, context, range.from);
  const last = done.size > 0 ? auditItemName(Math.max(...done), range.n) : 'none';
  return (
    `Summary: auditing the files ${auditItemName(range.from, range.n)} to ${auditItemName(range.to, range.n)} ` +
    `of ${range.n}. Last item audited: ${last}. Tool results are not kept in this summary.`
  );
}

// ---------------------------------------------------------------------------------------------
// The parent.

/** What one sub-agent was given and what came back of it. */
function childOutcome(
  audit: WideAudit,
  input: unknown,
  result: { text: string; isError: boolean } | null,
): { findings: Finding[] } | { failure: string } {
  const task = inputField(input, 'task');
  const range = typeof task === 'string' ? rangedAuditOf(task) : null;
  const label = range
    ? `the sub-agent of ${auditItemName(range.from, audit.n)} to ${auditItemName(range.to, audit.n)}`
    : 'a sub-agent';
  if (!range) return { failure: `${label} was given a task I cannot read back: ${JSON.stringify(task)}` };
  if (!result) return { failure: `${label} gave no result` };
  if (result.isError) return { failure: `${label} failed: ${result.text}` };
  const report = parseAuditReport(result.text);
  const size = range.to - range.from + 1;
  if (!report) return { failure: `${label} sent no audit report: ${result.text.slice(0, 200)}` };
  if (report.audited !== size) return { failure: `${label} audited ${report.audited} files, not ${size}` };
  const inRange = (item: string) => {
    const index = Number(/^item-(\d+)\.txt$/.exec(item)?.[1]);
    return index >= range.from && index <= range.to && auditItemName(index, audit.n) === item;
  };
  const stray = report.findings.find((f) => !inRange(f.item));
  if (stray) return { failure: `${label} reported ${stray.item}, which is not in its range` };
  return { findings: report.findings };
}

function parentAct(audit: WideAudit, context: ScenarioContext): Action {
  if (!context.tools.includes(DELEGATE_TOOL)) {
    return finish(
      `I cannot split this audit: no ${DELEGATE_TOOL} tool is offered (tools: ${context.tools.join(', ')}).`,
    );
  }
  const exchanges = toolExchanges(context.messages);
  const listing = exchanges.findLast((e) => e.name === 'list_files' && e.result !== null)?.result;
  if (!listing) return { blocks: [text('Listing the workspace.'), toolUse('list_files', {})], stopReason: 'tool_use' };
  if (listing.isError) return finish(`I could not list the workspace: ${listing.text}`);

  const delegated = exchanges.filter((e) => e.name === DELEGATE_TOOL);
  if (delegated.length === 0) {
    const items = listing.text.split('\n').filter((name) => {
      const index = Number(/^item-(\d+)\.txt$/.exec(name)?.[1]);
      return index >= 1 && index <= audit.n && auditItemName(index, audit.n) === name;
    });
    if (items.length !== audit.n) {
      return finish(`The workspace lists ${items.length} of the ${audit.n} files to audit; I did not start the audit.`);
    }
    const ranges = splitRanges(audit.n, audit.children);
    const calls = ranges.map((r) =>
      toolUse(DELEGATE_TOOL, {
        agent: audit.agent,
        task: rangedAuditTask({ n: audit.n, ...r, perReply: audit.perReply }),
      }),
    );
    return {
      blocks: [text(`Delegating ${ranges.length} ranges of the ${audit.n} files.`), ...calls],
      stopReason: 'tool_use',
    };
  }

  const outcomes = delegated.map((e) => childOutcome(audit, e.input, e.result));
  const failures = outcomes.flatMap((o) => ('failure' in o ? [o.failure] : []));
  if (failures.length > 0) {
    // Say what failed; merging the rest would report an audit of fewer files as if it were whole.
    return finish(
      `The audit is not complete: ${failures.length} of ${delegated.length} sub-agents did not report. ` +
        `${failures.join('; ')}. No report.md was written.`,
      [toolUse('update_state', { add_errors: failures.map((f) => f.slice(0, 2_000)) })],
    );
  }
  const report = auditReport(
    audit.n,
    outcomes.flatMap((o) => ('findings' in o ? o.findings : [])),
  );
  return {
    blocks: [
      text(`Merging the ${delegated.length} reports.`),
      toolUse('write_file', { path: 'report.md', content: report }),
      toolUse('finish', { report }),
    ],
    stopReason: 'tool_use',
  };
}

function rangedAuditOf(task: string): AuditRange | null {
  const match = RANGED_PATTERN.exec(task);
  if (!match) return null;
  const [from, to, n, perReply] = match.slice(1, 5).map(Number) as [number, number, number, number];
  if (!(n >= 1 && from >= 1 && from <= to && to <= n && perReply >= 1)) return null;
  if (auditItemName(from, n) !== `item-${match[1]}.txt` || auditItemName(to, n) !== `item-${match[2]}.txt`) return null;
  const reportFile = REPORT_FILE_PATTERN.exec(task)?.[1];
  return { n, from, to, perReply, ...(reportFile ? { reportFile } : {}) };
}

export function wideAuditScenario(task: string): Scenario | null {
  const range = rangedAuditOf(task);
  if (range)
    return { act: (context) => rangedAct(range, context), summarize: (context) => rangedSummary(range, context) };
  const match = PARENT_PATTERN.exec(task);
  if (!match) return null;
  const [n, children, , perReply] = match.slice(1, 5).map(Number) as [number, number, number, number];
  if (!(n >= 1 && children >= 1 && perReply >= 1)) return null;
  const audit: WideAudit = { n, children, agent: match[3]!, perReply };
  return { act: (context) => parentAct(audit, context), summarize: () => DEFAULT_SUMMARY };
}
