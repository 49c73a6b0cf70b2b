import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseRunOptions, type RunOptionsInput } from '../common/options.js';
import { workspaceNameProblem } from '../common/workspace.js';

/** Flags of `run` and `submit`, for node:util parseArgs; each maps to one RunOptions field. */
export const runFlagSpec = {
  task: { type: 'string' },
  'task-file': { type: 'string' },
  workspace: { type: 'string' },
  agent: { type: 'string' },
  model: { type: 'string' },
  'max-turns': { type: 'string' },
  'max-output-tokens': { type: 'string' },
  'system-prompt': { type: 'string' },
  'compaction-trigger': { type: 'string' },
  'compaction-instructions': { type: 'string' },
  'pause-after-compaction': { type: 'boolean' },
  'no-compaction': { type: 'boolean' },
  'no-state': { type: 'boolean' },
  'token-budget': { type: 'string' },
  'budget-usd': { type: 'string' },
  'tool-policy': { type: 'string', multiple: true },
  'on-cap': { type: 'string' },
  'escalation-timeout': { type: 'string' },
  'on-timeout': { type: 'string' },
  'max-failures': { type: 'string' },
  'heartbeat-timeout': { type: 'string' },
  'workflow-task-timeout': { type: 'string' },
  webhook: { type: 'string' },
  id: { type: 'string' },
} as const;

/** Which flag sets which option path, so an option error names the flag the user typed. */
const FLAG_OF_PATH: Record<string, string> = {
  task: '--task',
  workspace: '--workspace',
  agent: '--agent',
  model: '--model',
  maxTurns: '--max-turns',
  maxOutputTokens: '--max-output-tokens',
  systemPrompt: '--system-prompt',
  'compaction.trigger': '--compaction-trigger',
  'compaction.instructions': '--compaction-instructions',
  tokenBudget: '--token-budget',
  budgetUsd: '--budget-usd',
  toolPolicies: '--tool-policy',
  'escalation.onCap': '--on-cap',
  'escalation.timeoutSeconds': '--escalation-timeout',
  'escalation.onTimeout': '--on-timeout',
  'escalation.maxConsecutiveFailures': '--max-failures',
  'escalation.webhookUrl': '--webhook',
  heartbeatTimeoutMs: '--heartbeat-timeout',
  workflowTaskTimeoutMs: '--workflow-task-timeout',
};

export class UsageError extends Error {}

export function wholeNumber(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value.replace(/_/g, '')))
    throw new UsageError(`--${flag}: expected a whole number, got ${JSON.stringify(value)}`);
  return Number(value.replace(/_/g, ''));
}

/** A TCP port (0: any free one). */
export function portNumber(flag: string, value: string | undefined): number | undefined {
  const port = wholeNumber(flag, value);
  if (port !== undefined && port > 65535) throw new UsageError(`--${flag}: expected 0..65535, got ${port}`);
  return port;
}

/** Dollars: `12`, `0.50`, `1_000` (no sign, no exponent, no currency symbol). */
export function dollars(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const plain = value.replace(/_/g, '');
  if (!/^(\d+(\.\d*)?|\.\d+)$/.test(plain))
    throw new UsageError(`--${flag}: expected an amount in dollars such as 2.50, got ${JSON.stringify(value)}`);
  return Number(plain);
}

type FlagValue<F> = F extends { multiple: true } ? string[] : F extends { type: 'boolean' } ? boolean : string;
type RunFlags = { [K in keyof typeof runFlagSpec]?: FlagValue<(typeof runFlagSpec)[K]> };

/** `--tool-policy write_file=allow`, repeatable. */
function toolPolicies(values: string[] | undefined): Record<string, string> | undefined {
  if (!values) return undefined;
  return Object.fromEntries(
    values.map((v): [string, string] => {
      const match = /^([\w.-]+)=(\w+)$/.exec(v);
      if (!match) throw new UsageError(`--tool-policy: expected NAME=allow|approve|deny, got ${JSON.stringify(v)}`);
      return [match[1]!, match[2]!];
    }),
  );
}

const defined = <T extends object>(o: T) =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;

/** A task file's text: UTF-8 without NUL bytes (a binary file given by mistake is refused, not sent). */
function taskText(path: string, bytes: Buffer): string {
  if (bytes.includes(0)) throw new UsageError(`--task-file: ${path} holds NUL bytes; a task is text`);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new UsageError(`--task-file: ${path} is not UTF-8 text`);
  }
}

/**
 * Turns flags into run options, checked but without defaults filled in (an agent's defaults apply
 * to what is unset), or throws a one-line UsageError naming what is wrong.
 */
export function runOptionsFromFlags(flags: RunFlags, cwd = process.cwd()): RunOptionsInput {
  if (flags.task !== undefined && flags['task-file'] !== undefined)
    throw new UsageError('give --task or --task-file, not both');
  let task = flags.task;
  if (flags['task-file'] !== undefined) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(resolve(cwd, flags['task-file']));
    } catch (err) {
      throw new UsageError(
        `--task-file: cannot read ${flags['task-file']}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      );
    }
    task = taskText(flags['task-file'], bytes);
  }
  if (task === undefined) throw new UsageError('a task is required: --task "…" or --task-file PATH');
  const compaction = {
    ...(flags['no-compaction'] ? { enabled: false } : {}),
    ...(flags['compaction-trigger'] !== undefined
      ? { trigger: wholeNumber('compaction-trigger', flags['compaction-trigger']) }
      : {}),
    ...(flags['compaction-instructions'] !== undefined ? { instructions: flags['compaction-instructions'] } : {}),
    ...(flags['pause-after-compaction'] ? { pauseAfterCompaction: true } : {}),
  };
  // Checked as typed too: resolved against the current directory, `..` would vanish from it.
  const workspaceProblem = flags.workspace === undefined ? undefined : workspaceNameProblem(flags.workspace);
  if (workspaceProblem) throw new UsageError(`--workspace: ${JSON.stringify(flags.workspace)} ${workspaceProblem}`);
  const options = {
    task,
    workspace: resolve(cwd, flags.workspace ?? '.'),
    ...(flags.agent !== undefined ? { agent: flags.agent } : {}),
    ...(flags.model !== undefined ? { model: flags.model } : {}),
    ...(flags['max-turns'] !== undefined ? { maxTurns: wholeNumber('max-turns', flags['max-turns']) } : {}),
    ...(flags['max-output-tokens'] !== undefined
      ? { maxOutputTokens: wholeNumber('max-output-tokens', flags['max-output-tokens']) }
      : {}),
    ...(flags['system-prompt'] !== undefined ? { systemPrompt: flags['system-prompt'] } : {}),
    ...(flags['no-state'] ? { injectState: false } : {}),
    ...defined({
      tokenBudget: wholeNumber('token-budget', flags['token-budget']),
      budgetUsd: dollars('budget-usd', flags['budget-usd']),
      toolPolicies: toolPolicies(flags['tool-policy']),
      heartbeatTimeoutMs: wholeNumber('heartbeat-timeout', flags['heartbeat-timeout']),
      workflowTaskTimeoutMs: wholeNumber('workflow-task-timeout', flags['workflow-task-timeout']),
    }),
    compaction,
    escalation: defined({
      onCap: flags['on-cap'],
      timeoutSeconds: wholeNumber('escalation-timeout', flags['escalation-timeout']),
      onTimeout: flags['on-timeout'],
      maxConsecutiveFailures: wholeNumber('max-failures', flags['max-failures']),
      webhookUrl: flags.webhook,
    }),
  };
  const parsed = parseRunOptions(options);
  if (!parsed.ok) {
    // Name the flag the user typed: `toolPolicies.write_file` is `--tool-policy`.
    throw new UsageError(
      parsed.error.replace(
        /^([\w.]+):/,
        (_, path: string) => `${FLAG_OF_PATH[path] ?? FLAG_OF_PATH[path.split('.')[0]!] ?? path}:`,
      ),
    );
  }
  // Checked above: the flags' strings are the option values the schema accepts.
  return options as RunOptionsInput;
}
