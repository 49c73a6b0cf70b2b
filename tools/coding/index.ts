/**
 * The coding toolset: edit_file, glob, grep and run_command, for an agent that works on a
 * repository beside the workspace tools (`tools: [...workspaceTools, ...codingTools()]`).
 */
import { z } from 'zod';
import { CommandAllowEntry } from '../../common/command-allow.js';
import { ConfigError } from '../../common/errors.js';
import { describeZodError } from '../../common/options.js';
import type { ToolDefinition } from '../define.js';
import { editFileTool } from './edit-file.js';
import { MAX_COMMAND_TIMEOUT_SECONDS, runCommandTool } from './run-command.js';
import { globTool, grepTool } from './search-tools.js';

export const CodingToolOptions = z
  .object({
    /**
     * Command prefixes run_command runs without a person's approval, whole words (`npm test`
     * covers `npm test -- auth`, not `npm testx`); a command line with a shell metacharacter is
     * never covered (common/command-allow.ts).
     */
    commandAllow: z.array(CommandAllowEntry).default([]),
    /** 'auto': bubblewrap where it runs here, else none; 'bwrap': always (commands fail where it cannot run); 'off'. */
    sandbox: z.enum(['auto', 'bwrap', 'off']).default('auto'),
    /** The longest a command may run, in seconds; a call's timeout_seconds may not exceed it. */
    commandTimeoutSeconds: z
      .number()
      .int()
      .min(1)
      .max(MAX_COMMAND_TIMEOUT_SECONDS)
      .default(MAX_COMMAND_TIMEOUT_SECONDS),
    /** Variables commands get beside the harmless ones passed from the worker (tools/coding/command-env.ts). */
    commandEnv: z
      .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'is not a variable name'), z.string())
      .default({}),
    /** How glob and grep search: ripgrep when installed ('auto'), or always one engine. */
    searchEngine: z.enum(['auto', 'ripgrep', 'javascript']).default('auto'),
  })
  .strict();
export type CodingToolOptions = z.input<typeof CodingToolOptions>;

/** The coding tools under `options`; a bad option is a ConfigError naming it, where the toolset is made. */
export function codingTools(options: CodingToolOptions = {}): ToolDefinition[] {
  const parsed = CodingToolOptions.safeParse(options);
  if (!parsed.success) throw new ConfigError(`coding tools: ${describeZodError(parsed.error)}`);
  const { commandAllow, sandbox, commandTimeoutSeconds, commandEnv, searchEngine } = parsed.data;
  return [
    editFileTool,
    globTool(searchEngine),
    grepTool(searchEngine),
    runCommandTool({ allow: commandAllow, sandbox, maxTimeoutSeconds: commandTimeoutSeconds, env: commandEnv }),
  ];
}
