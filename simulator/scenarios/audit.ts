import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Finding } from '../../common/prompt-format.js';
import {
  inputField,
  text,
  toolExchanges,
  toolUse,
  visibleSummary,
  type Action,
  type PlannedBlock,
  type Scenario,
  type ScenarioContext,
} from './scenario.js';
import { mulberry32 } from '../seeded-random.js';

/**
 * The long audit: read N files one by one, record each file's risk with update_state, write a
 * progress note every 50 files, finish with a report. Long enough to cross the compaction threshold
 * many times, and built so that a run that trusts the lossy summary instead of its state loses
 * findings: the report then differs from `auditReport(n, auditGroundTruth(n))`.
 */

const TASK_PATTERN = /Audit the (\d+) files item-\d+\.txt/;
const INVALID_UPDATE_MARKER = '[sim:invalid-update-once]';
export const NOTE_EVERY = 50;
const FILLER_CHARS = 3_600;

type Risk = 'none' | 'low' | 'medium' | 'high';
type Severity = Finding['severity'];

// ---------------------------------------------------------------------------------------------
// The workspace: deterministic files, and the findings a correct audit of them must report.

export function auditItemName(i: number, n: number): string {
  return `item-${String(i).padStart(Math.max(3, String(n).length), '0')}.txt`;
}

export function auditTask(n: number, opts: { invalidUpdateOnce?: boolean } = {}): string {
  const task =
    `Audit the ${n} files ${auditItemName(1, n)} to ${auditItemName(n, n)} in the workspace. ` +
    'Read each file with read_file, record its risk with update_state, write a progress note every ' +
    `${NOTE_EVERY} files, and finish with a report.`;
  return opts.invalidUpdateOnce ? `${task} ${INVALID_UPDATE_MARKER}` : task;
}

const pick = <T>(random: () => number, items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

const FILLER_WORDS = [
  'ledger',
  'account',
  'balance',
  'review',
  'invoice',
  'vendor',
  'contract',
  'payment',
  'quarter',
  'approval',
  'record',
  'entry',
  'policy',
  'control',
  'report',
  'journal',
  'budget',
  'forecast',
  'transfer',
  'receipt',
  'schedule',
  'region',
  'office',
  'supplier',
  'customer',
  'margin',
  'expense',
  'revenue',
  'audit',
  'sample',
];
const PROBLEMS = [
  'payment approved by its own requester',
  'vendor bank details changed without a ticket',
  'invoice paid twice in the same quarter',
  'expense above limit without a second signature',
  'journal entry posted on a weekend by a service account',
  'contract renewed after its expiry date',
  'receipt total differs from the ledger entry',
  'transfer split just under the approval threshold',
];

interface AuditFile {
  name: string;
  risk: Risk;
  detail: string;
  text: string;
}

function auditFile(i: number, n: number): AuditFile {
  const random = mulberry32(i * 2_654_435_761);
  const roll = random();
  // Roughly 60% none, 20% low, 12% medium, 8% high.
  const risk: Risk = roll < 0.6 ? 'none' : roll < 0.8 ? 'low' : roll < 0.92 ? 'medium' : 'high';
  const detail =
    risk === 'none' ? 'nothing to report' : `${pick(random, PROBLEMS)} (entry ${1 + Math.floor(random() * 900)})`;
  const name = auditItemName(i, n);
  const lines = [`# ${name}`, `Sample record ${i} for the long-haul audit.`, ''];
  let chars = 0;
  while (chars < FILLER_CHARS) {
    const words = Array.from({ length: 8 + Math.floor(random() * 5) }, () => pick(random, FILLER_WORDS));
    const line = words.join(' ');
    lines.push(line);
    chars += line.length + 1;
  }
  lines.push('', `risk: ${risk}`, `detail: ${detail}`, '');
  return { name, risk, detail, text: lines.join('\n') };
}

export async function writeAuditWorkspace(dir: string, n: number): Promise<void> {
  await mkdir(dir, { recursive: true });
  await Promise.all(
    Array.from({ length: n }, (_, k) => {
      const file = auditFile(k + 1, n);
      return writeFile(join(dir, file.name), file.text);
    }),
  );
}

export function auditGroundTruth(n: number): Finding[] {
  return Array.from({ length: n }, (_, k) => auditFile(k + 1, n))
    .filter((file) => file.risk !== 'none')
    .map((file) => ({ item: file.name, severity: file.risk as Severity, detail: file.detail }));
}

const SEVERITY_ORDER: readonly Severity[] = ['critical', 'high', 'medium', 'low'];

/** The canonical report: one finding per item (the most severe), names sorted within a severity. */
export function auditReport(n: number, findings: Finding[]): string {
  const byItem = new Map<string, Severity>();
  for (const { item, severity } of findings) {
    const known = byItem.get(item);
    if (!known || SEVERITY_ORDER.indexOf(severity) < SEVERITY_ORDER.indexOf(known)) byItem.set(item, severity);
  }
  const lines = [`Audit report: ${n} files audited, ${byItem.size} findings.`];
  for (const severity of SEVERITY_ORDER) {
    const items = [...byItem]
      .filter(([, s]) => s === severity)
      .map(([item]) => item)
      .sort();
    if (items.length > 0) lines.push(`${severity} (${items.length}): ${items.join(', ')}`);
  }
  lines.push(`no risk: ${n - byItem.size} files`);
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// The model: reconstructs its progress from state, summary and visible tool calls, then acts.

interface PendingItem {
  index: number;
  name: string;
  finding: Finding | null;
}

interface Progress {
  /** Item numbers recorded as done: in the state, behind the summary's cursor, or by a visible update. */
  done: Set<number>;
  findings: Finding[];
  /** Items read (visible, successful) but not yet recorded, in item order. */
  pending: PendingItem[];
  /** Whether any update_state call is visible, failed or not. */
  updateVisible: boolean;
}

const asArray = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);

function parseReadResult(index: number, name: string, content: string): PendingItem {
  const risk = /^risk: (low|medium|high)$/m.exec(content)?.[1] as Severity | undefined;
  const detail = /^detail: (.*)$/m.exec(content)?.[1] ?? '';
  return { index, name, finding: risk ? { item: name, severity: risk, detail } : null };
}

/** `from`: the first item of the audited range (a ranged audit's summary cursor counts from it). */
export function readProgress(n: number, context: ScenarioContext, from = 1): Progress {
  const indexOf = (name: unknown): number | null => {
    const index = typeof name === 'string' ? Number(/^item-(\d+)\.txt$/.exec(name)?.[1]) : NaN;
    return index >= 1 && index <= n && auditItemName(index, n) === name ? index : null;
  };
  const addAll = (set: Set<number>, names: unknown[]) => {
    for (const name of names) {
      const index = indexOf(name);
      if (index !== null) set.add(index);
    }
  };

  const done = new Set<number>();
  const findings = [...(context.state?.findings ?? [])];
  addAll(done, context.state?.itemsDone ?? []);
  const cursor = indexOf(/Last item audited: (item-\d+\.txt)/.exec(visibleSummary(context.messages) ?? '')?.[1]) ?? 0;
  for (let i = from; i <= cursor; i++) done.add(i);

  const exchanges = toolExchanges(context.messages);
  const succeeded = exchanges.filter((e) => e.result !== null && !e.result.isError);
  for (const update of succeeded.filter((e) => e.name === 'update_state')) {
    addAll(done, asArray(inputField(update.input, 'mark_done')));
    for (const finding of asArray(inputField(update.input, 'add_findings'))) {
      const parsed = Finding.safeParse(finding);
      if (parsed.success) findings.push(parsed.data);
    }
  }

  const pending = new Map<number, PendingItem>();
  for (const read of succeeded.filter((e) => e.name === 'read_file')) {
    const name = inputField(read.input, 'path');
    const index = indexOf(name);
    if (index !== null && !done.has(index))
      pending.set(index, parseReadResult(index, name as string, read.result!.text));
  }

  return {
    done,
    findings,
    pending: [...pending.values()].sort((a, b) => a.index - b.index),
    updateVisible: exchanges.some((e) => e.name === 'update_state'),
  };
}

function act(n: number, invalidUpdateOnce: boolean, context: ScenarioContext): Action {
  const { done, findings, pending, updateVisible } = readProgress(n, context);
  const blocks: PlannedBlock[] = [];
  const said: string[] = [];
  const names = pending.map((p) => p.name);
  const newFindings = pending.flatMap((p) => (p.finding ? [p.finding] : []));
  // The scripted mistake: a first update whose mark_done is a string. The client must answer it
  // with a tool error; the next turn re-derives the update from the still-pending reads.
  const sendInvalid = invalidUpdateOnce && pending.length > 0 && done.size === 0 && !updateVisible;

  const doneAfter = new Set(done);
  if (pending.length > 0) {
    said.push(`recording ${names.join(', ')}`);
    if (sendInvalid) {
      blocks.push(toolUse('update_state', { mark_done: names[0] }));
    } else {
      blocks.push(
        toolUse('update_state', { mark_done: names, ...(newFindings.length ? { add_findings: newFindings } : {}) }),
      );
      for (const p of pending) doneAfter.add(p.index);
    }
  }
  if (Math.floor(doneAfter.size / NOTE_EVERY) > Math.floor(done.size / NOTE_EVERY)) {
    const count = doneAfter.size;
    blocks.push(
      toolUse('write_file', { path: `notes/progress-${count}.md`, content: `Audited ${count} of ${n} files.\n` }),
    );
  }

  const inFlight = new Set([...done, ...pending.map((p) => p.index)]);
  const next = Array.from({ length: n }, (_, k) => k + 1).find((i) => !inFlight.has(i));
  if (next !== undefined) {
    said.push(`reading ${auditItemName(next, n)}`);
    blocks.push(toolUse('read_file', { path: auditItemName(next, n) }));
  } else if (doneAfter.size === n) {
    said.push('writing the report');
    const report = auditReport(n, [...findings, ...newFindings]);
    blocks.push(toolUse('write_file', { path: 'report.md', content: report }));
    blocks.push(toolUse('finish', { report }));
  }

  const sentence = said.join('; ');
  return {
    blocks: [text(`${sentence.charAt(0).toUpperCase()}${sentence.slice(1)}.`), ...blocks],
    stopReason: 'tool_use',
  };
}

/** Lossy by design: only a cursor survives, no tool results and no findings. */
function summarize(n: number, context: ScenarioContext): string {
  const { done } = readProgress(n, context);
  const last = done.size > 0 ? auditItemName(Math.max(...done), n) : 'none';
  return `Summary: auditing ${n} files. Last item audited: ${last}. Tool results are not kept in this summary.`;
}

export function auditScenario(task: string): Scenario | null {
  const match = TASK_PATTERN.exec(task);
  const n = Number(match?.[1]);
  if (!match || !(n >= 1)) return null;
  const invalidUpdateOnce = task.includes(INVALID_UPDATE_MARKER);
  return { act: (context) => act(n, invalidUpdateOnce, context), summarize: (context) => summarize(n, context) };
}
