import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  DEFAULT_SUMMARY,
  finish,
  inputField,
  text,
  toolExchanges,
  toolUse,
  type Action,
  type Scenario,
  type ScenarioContext,
  type ToolExchange,
} from './scenario.js';

/**
 * A real coding task, small: a repository whose test fails because `mean` divides by one less
 * than the count. The model greps for the function, reads its file, fixes the line with
 * edit_file (the exact text it read), runs the task's test command, optionally a review command,
 * records the fix with update_state and finishes with a report naming the fix and the test's
 * result. A tool error (a declined command, a failed edit, a test still failing) ends the run
 * with a report that says so, rather than trying again.
 */

const MARKER = /^Coding task: make the failing test pass\.?$/m;
const TEST_COMMAND = /^Test command: (.+)$/m;
const REVIEW_COMMAND = /^Review command: (.+)$/m;
/** The coding tools the scenario calls, beside read_file (tools/coding, tools/workspace-tools.ts). */
const NEEDED_TOOLS = ['grep', 'read_file', 'edit_file', 'run_command'];

const FUNCTION = 'mean';
const SOURCE = 'src/math.js';
const BUG = '/ (values.length - 1)';
const FIX = '/ values.length';

export function codingTask(opts: { testCommand?: string; reviewCommand?: string } = {}): string {
  const { testCommand = 'node --test', reviewCommand } = opts;
  return [
    'Coding task: make the failing test pass.',
    `Test command: ${testCommand}`,
    ...(reviewCommand ? [`Review command: ${reviewCommand}`] : []),
    'The repository is the workspace. Find the bug, fix it with edit_file, run the test command to ' +
      'check, and finish with a report naming the fix and the test result.',
  ].join('\n');
}

const FILES: Record<string, string> = {
  'package.json': `${JSON.stringify({ name: 'mini-math', private: true, type: 'module', scripts: { test: 'node --test' } }, null, 2)}\n`,
  [SOURCE]: [
    '/** The total of a list of numbers. */',
    'export function sum(values) {',
    '  return values.reduce((total, value) => total + value, 0);',
    '}',
    '',
    '/** The arithmetic mean of a non-empty list of numbers. */',
    `export function ${FUNCTION}(values) {`,
    `  return sum(values) ${BUG};`,
    '}',
    '',
  ].join('\n'),
  'test/math.test.js': [
    "import assert from 'node:assert/strict';",
    "import { test } from 'node:test';",
    `import { ${FUNCTION}, sum } from '../src/math.js';`,
    '',
    "test('sum adds the values', () => {",
    '  assert.equal(sum([1, 2, 3, 4]), 10);',
    '});',
    '',
    "test('mean divides the sum by the count', () => {",
    `  assert.equal(${FUNCTION}([2, 4, 6]), 4);`,
    '});',
    '',
  ].join('\n'),
};

const run = promisify(execFile);

/**
 * Writes the repository into `dir` and commits it (so `git diff` shows the fix): `node --test`
 * fails in it until `mean` is fixed.
 */
export async function writeCodingWorkspace(dir: string): Promise<void> {
  for (const [path, content] of Object.entries(FILES)) {
    await mkdir(join(dir, path, '..'), { recursive: true });
    await writeFile(join(dir, path), content);
  }
  const git = (...args: string[]) =>
    run('git', ['-c', 'user.name=longhaul', '-c', 'user.email=longhaul@localhost', ...args], { cwd: dir });
  await git('init', '--quiet');
  await git('add', '.');
  await git('commit', '--quiet', '--no-gpg-sign', '-m', 'mini-math with a failing test');
}

// ---------------------------------------------------------------------------------------------
// The model.

const call = (say: string, name: string, input: unknown): Action => ({
  blocks: [text(say), toolUse(name, input)],
  stopReason: 'tool_use',
});

/** A command's exit code, from the status line run_command ends its result with (`[exit code N]`). */
function exitCodeOf(result: string): number | null {
  const match = /\[exit code (\d+)\]\s*$/.exec(result);
  return match ? Number(match[1]) : null;
}

/** The first file a grep result names (`path:line:text`, the path maybe as `./path`), if any. */
const firstMatchPath = (result: string): string | null => /^(?:\.\/)?(.+?):\d+:/m.exec(result)?.[1] ?? null;

/** What the test runner said it passed (node --test prints `# pass N`, or `ℹ pass N` with the spec reporter). */
const passedCount = (result: string): string => {
  const n = /^(?:#|ℹ) pass (\d+)$/m.exec(result)?.[1];
  return n ? `, ${n} tests passed` : '';
};

/** The lines a unified diff adds, without the `+++` header. */
const addedLines = (diff: string): string[] =>
  diff.split('\n').filter((line) => line.startsWith('+') && !line.startsWith('+++'));

function act(testCommand: string, reviewCommand: string | null, context: ScenarioContext): Action {
  const missing = NEEDED_TOOLS.filter((name) => !context.tools.includes(name));
  if (missing.length) return finish(`I cannot do this coding task without the tools ${missing.join(', ')}.`);

  const exchanges = toolExchanges(context.messages);
  const answered = (name: string, match: (e: ToolExchange) => boolean = () => true) =>
    exchanges.findLast((e) => e.name === name && e.result !== null && match(e))?.result ?? null;

  const grep = answered('grep');
  if (!grep) return call(`Looking for the function ${FUNCTION}.`, 'grep', { pattern: `function ${FUNCTION}\\b` });
  if (grep.isError) return finish(`I could not search the repository: ${grep.text}`);
  const path = firstMatchPath(grep.text);
  if (!path) return finish(`No function ${FUNCTION} in the repository: grep said ${JSON.stringify(grep.text)}`);

  const read = answered('read_file', (e) => inputField(e.input, 'path') === path);
  if (!read) return call(`Reading ${path}.`, 'read_file', { path });
  if (read.isError) return finish(`I could not read ${path}: ${read.text}`);

  // The exact line as read, so that edit_file finds it once.
  const buggy = read.text.split('\n').find((line) => line.includes(BUG));
  const edit = answered('edit_file');
  if (buggy !== undefined && !edit) {
    return call(`${FUNCTION} divides by one less than the count; fixing it.`, 'edit_file', {
      path,
      old_string: buggy,
      new_string: buggy.replace(BUG, FIX),
    });
  }
  if (edit?.isError) return finish(`The edit of ${path} failed, so nothing is fixed: ${edit.text}`);
  if (!edit && !read.text.includes(`sum(values) ${FIX};`)) {
    return finish(`I found no bug I can fix in ${path}; it does not divide by values.length - 1.`);
  }
  const fix = edit
    ? `Fixed ${FUNCTION} in ${path}: it divided the sum by values.length - 1; it now divides by values.length.`
    : `${FUNCTION} in ${path} already divides by values.length.`;

  const isCommand = (command: string) => (e: ToolExchange) => inputField(e.input, 'command') === command;
  const test = answered('run_command', isCommand(testCommand));
  if (!test) return call(`Running the tests: ${testCommand}`, 'run_command', { command: testCommand });
  const exit = exitCodeOf(test.text);
  if (exit === null) return finish(`${fix} I have no result from the test command \`${testCommand}\`: ${test.text}`);
  if (exit !== 0) {
    const tail = test.text.split('\n').slice(-12).join('\n');
    return finish(`${fix} The test command \`${testCommand}\` still fails (exit code ${exit}):\n${tail}`, [
      toolUse('update_state', { add_errors: [`${testCommand} exits with ${exit} after the fix of ${path}`] }),
    ]);
  }
  const passed = `The test command \`${testCommand}\` passed (exit code 0${passedCount(test.text)}).`;

  let reviewed = '';
  if (reviewCommand) {
    const review = answered('run_command', isCommand(reviewCommand));
    if (!review) return call('The tests pass; reviewing the change.', 'run_command', { command: reviewCommand });
    const added = addedLines(review.text);
    reviewed =
      exitCodeOf(review.text) === 0 && added.length
        ? ` \`${reviewCommand}\` shows the change: ${added.map((line) => line.trim()).join(' ')}`
        : ` \`${reviewCommand}\` did not show the change: ${review.text}`;
  }
  return finish(`${fix} ${passed}${reviewed}`, [
    toolUse('update_state', {
      mark_done: [path],
      add_decisions: [`${FUNCTION} divides by values.length; ${testCommand} passes`],
    }),
  ]);
}

export function codingScenario(task: string): Scenario | null {
  if (!MARKER.test(task)) return null;
  const testCommand = TEST_COMMAND.exec(task)?.[1]?.trim();
  if (!testCommand) {
    return {
      act: () => finish('The coding task names no test command (a line `Test command: …`).'),
      summarize: () => DEFAULT_SUMMARY,
    };
  }
  const reviewCommand = REVIEW_COMMAND.exec(task)?.[1]?.trim() ?? null;
  return { act: (context) => act(testCommand, reviewCommand, context), summarize: () => DEFAULT_SUMMARY };
}
