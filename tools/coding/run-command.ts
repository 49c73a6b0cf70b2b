import { spawn } from 'node:child_process';
import { readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { commandIsAllowed } from '../../common/command-allow.js';
import { defineTool, type ToolOutput } from '../define.js';
import { withWorkspaceDir } from '../workspace-path.js';
import { commandEnv } from './command-env.js';
import { CappedOutput } from './output-cap.js';
import { bwrapArgs, sandboxed, sandboxReadOnly, type SandboxChoice } from './sandbox.js';

/**
 * The longest a command may run: well inside runTool's five-minute start-to-close timeout
 * (workflows/activities.ts), so the activity reports the timeout itself.
 */
export const MAX_COMMAND_TIMEOUT_SECONDS = 240;
export const DEFAULT_COMMAND_TIMEOUT_SECONDS = 120;
/** Bytes of output kept from the start and from the end; what is between is cut, with a note. */
export const OUTPUT_HEAD_BYTES = 12_000;
export const OUTPUT_TAIL_BYTES = 12_000;
/** After the shell exits, how long its output pipes may stay open (held by a process that left its group). */
const CLOSE_GRACE_MS = 1_000;

export interface CommandSettings {
  allow: readonly string[];
  sandbox: SandboxChoice;
  maxTimeoutSeconds: number;
  env: Readonly<Record<string, string>>;
}

export const RunCommandInput = z
  .object({
    command: z.string().trim().min(1, 'command is empty').max(16_000).describe('a shell command line (/bin/sh -c)'),
    timeout_seconds: z
      .number()
      .int()
      .min(1)
      .max(MAX_COMMAND_TIMEOUT_SECONDS)
      .optional()
      .describe(`seconds before the command is killed (default ${DEFAULT_COMMAND_TIMEOUT_SECONDS})`),
    cwd: z
      .string()
      .min(1)
      .optional()
      .describe('directory to run in, relative to the workspace (default: the workspace)'),
  })
  .strict();
type RunCommandInput = z.output<typeof RunCommandInput>;

/** Kills a process group; one already gone is not an error. */
function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // ESRCH: nothing left in the group.
  }
}

interface Finished {
  output: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  ended: 'exit' | 'timeout' | 'cancelled';
}

/**
 * Runs the command in a process group of its own (detached), stdin closed, stdout and stderr
 * interleaved into one capped buffer. At the timeout or on `signal` the whole group is killed;
 * when the shell exits, so is whatever it left running in the background.
 */
function runInGroup(
  file: string,
  args: string[],
  cwd: string,
  env: Record<string, string>,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const output = new CappedOutput(OUTPUT_HEAD_BYTES, OUTPUT_TAIL_BYTES);
    child.stdout.on('data', (chunk: Buffer) => output.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => output.push(chunk));
    let ended: Finished['ended'] = 'exit';
    const stop = (why: Finished['ended']) => {
      ended = why;
      killGroup(child.pid);
    };
    const timer = setTimeout(() => stop('timeout'), timeoutMs);
    const onAbort = () => stop('cancelled');
    signal?.addEventListener('abort', onAbort, { once: true });
    let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let grace: NodeJS.Timeout | undefined;
    const finish = () => {
      clearTimeout(grace);
      signal?.removeEventListener('abort', onAbort);
      child.stdout.destroy();
      child.stderr.destroy();
      resolve({ output: output.text(), code: exited?.code ?? null, signal: exited?.signal ?? null, ended });
    };
    child.on('error', (err) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      reject(err);
    });
    child.on('exit', (code, sig) => {
      // It ended on its own: neither the timer nor a late cancellation may say otherwise.
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      exited = { code, signal: sig };
      killGroup(child.pid);
      grace = setTimeout(finish, CLOSE_GRACE_MS);
    });
    child.on('close', () => {
      if (exited) finish();
    });
  });
}

const CUT_OFF =
  'run_command was cut off before its result was recorded (the worker stopped or the attempt timed out): ' +
  'the command may have run in part or in full. It was not run again; check what it did before running it again.';

export function runCommandTool(settings: CommandSettings) {
  const timeoutOf = (input: RunCommandInput) =>
    input.timeout_seconds ?? Math.min(DEFAULT_COMMAND_TIMEOUT_SECONDS, settings.maxTimeoutSeconds);
  const sandboxLine = async () => {
    const mode = await sandboxed(settings.sandbox);
    if ('error' in mode) return mode.error;
    return mode.on
      ? 'sandboxed (bubblewrap): only the workspace writable (not its .git), no network'
      : "not sandboxed: runs as the worker's user, with its file system and network";
  };

  return defineTool({
    name: 'run_command',
    description:
      'Run a shell command (/bin/sh -c) in the workspace, or in `cwd` under it: stdin is closed, stdout and stderr ' +
      `are returned together (the start and end of long output), with the exit code. It is killed after ` +
      `timeout_seconds (default ${DEFAULT_COMMAND_TIMEOUT_SECONDS}), with anything it started. The environment ` +
      'holds no credentials. A command the worker does not allow outright waits for a person to approve it.',
    input: RunCommandInput,
    sideEffectFree: false,
    policy: 'approve',
    needsApproval: ({ command }) => !commandIsAllowed(command, settings.allow),
    async approvalDetail(input, { workspace }) {
      return `$ ${input.command}\nin ${join(workspace, input.cwd ?? '.')}\ntimeout ${timeoutOf(input)} s; ${await sandboxLine()}`;
    },
    async run(input, { workspace, signal }): Promise<ToolOutput> {
      const timeout = timeoutOf(input);
      if (timeout > settings.maxTimeoutSeconds) {
        return {
          content: `timeout_seconds ${timeout} is over this worker's limit of ${settings.maxTimeoutSeconds}`,
          isError: true,
        };
      }
      const mode = await sandboxed(settings.sandbox);
      if ('error' in mode) return { content: mode.error, isError: true };
      if (signal?.aborted) return { content: 'run_command was cancelled before the command started', isError: true };
      // The directory checked is the one the command starts in: its real path, read from its open descriptor.
      const cwd = await withWorkspaceDir(workspace, input.cwd ?? '.', (dir) => readlink(dir));
      const env = commandEnv(process.env, settings.env);
      const [file, args] = mode.on
        ? ['bwrap', bwrapArgs(workspace, cwd, input.command, await sandboxReadOnly(workspace))]
        : ['/bin/sh', ['-c', input.command]];
      // Inside the sandbox only /tmp and the workspace are writable.
      const done = await runInGroup(
        file,
        args,
        cwd,
        mode.on ? { ...env, TMPDIR: '/tmp' } : env,
        timeout * 1000,
        signal,
      );
      const output = done.output === '' ? '(no output)' : done.output.replace(/\n?$/, '');
      if (done.ended === 'timeout') {
        return {
          content: `${output}\n[timed out after ${timeout} s: the command and its process group were killed]`,
          isError: true,
        };
      }
      if (done.ended === 'cancelled') {
        return { content: `${output}\n[cancelled: the command and its process group were killed]`, isError: true };
      }
      // A non-zero exit is the command's answer, not the tool's failure: the model reads it.
      const status = done.code !== null ? `exit code ${done.code}` : `killed by signal ${done.signal}`;
      return { content: `${output}\n[${status}]` };
    },
    async checkEffect() {
      return { content: CUT_OFF, isError: true };
    },
  });
}
