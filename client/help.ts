/**
 * Every command's help page (`longhaul <command> --help`), and the general one. The defaults are
 * read from where the code sets them (the options' schema, the environment's, the servers'), so a
 * page cannot drift from what runs.
 */
import { readEnv } from '../config/env.js';
import { DEFAULT_TOOL_POLICIES, RunOptions } from '../common/options.js';
import { MIN_COMPACTION_TRIGGER } from '../common/messages-api.js';
import { DEFAULT_CODEC_HOST, DEFAULT_CODEC_PORT, DEFAULT_CORS_ORIGIN } from './codec-server.js';
import { LIST_STATUSES } from './runs-query.js';
import { QUERY_WAIT_MS, UPDATE_WAIT_MS } from './status.js';

/** The options a run gets when it sets none (and its agent sets none). */
const d = RunOptions.parse({ task: 'x', workspace: 'w' });
const env = readEnv({});
const s = (ms: number) => `${ms / 1000} s`;

/** 86400 → "86400 s (1 day)": seconds as typed, with the unit a person reads. */
export function seconds(n: number): string {
  const units: [number, string][] = [
    [86_400, 'day'],
    [3_600, 'hour'],
    [60, 'minute'],
  ];
  const [size, name] = units.find(([size]) => n % size === 0 && n >= size) ?? [0, ''];
  if (!size) return `${n} s`;
  const count = n / size;
  return `${n} s (${count} ${name}${count === 1 ? '' : 's'})`;
}

const EXAMPLE_ID = 'longhaul-2026-11-22-1a2b3c4d';

const RUN_OPTIONS = `run options (an agent's own defaults apply to what is unset, else these):
  --task TEXT | --task-file PATH   what the agent should do (required; UTF-8 text)
  --workspace DIR                  directory the file tools are confined to (default: .); must lie
                                   under one of the worker's LONGHAUL_WORKSPACE_ROOTS
  --agent NAME                     an agent profile the workers serve (its tools and defaults)
  --id RUN_ID                      letters, digits, . _ - : @ (at most 200; default longhaul-<date>-<random>)
  --model NAME                     default ${d.model}
  --max-turns N                    default ${d.maxTurns}; at the cap --on-cap applies
  --max-output-tokens N            per model call; default ${d.maxOutputTokens}
  --system-prompt TEXT             default "${d.systemPrompt}"
  --compaction-trigger N           input tokens at which the context is compacted (>= ${MIN_COMPACTION_TRIGGER}); default ${d.compaction.trigger}
  --compaction-instructions TEXT   what the summary must keep (default: the API's own instructions)
  --pause-after-compaction         ask a person after each compaction (default: go on)
  --no-compaction                  never compact (a long run then ends at the model's context limit)
  --no-state                       do not show the structured state to the model on every call
  --token-budget N                 input + output + compaction tokens the run may spend (default: unlimited)
  --budget-usd N                   dollars the run may spend, at the worker's prices (default: unlimited)
  --tool-policy NAME=allow|approve|deny
                                   repeatable; never wider than the worker's or the agent's own
                                   (default: ${Object.entries(DEFAULT_TOOL_POLICIES)
                                     .map(([tool, policy]) => `${tool}=${policy}`)
                                     .join(', ')}, and edit_file and run_command ask too)
  --on-cap escalate|stop|wrap-up   at the turn cap or a budget: ask a person, stop, or give the
                                   model one last turn to finish; default ${d.escalation.onCap}
  --escalation-timeout SECONDS     how long a question waits for a person; default ${seconds(d.escalation.timeoutSeconds)}
  --on-timeout deny|stop           when nobody answers in time; default ${d.escalation.onTimeout}
  --max-failures N                 failures in a row before a person is asked; default ${d.escalation.maxConsecutiveFailures}
  --webhook URL                    POSTed each escalation as JSON (its origin must be on the
                                   worker's LONGHAUL_WEBHOOK_ALLOW)
  --heartbeat-timeout MS           how soon a model or tool call of a lost worker goes to another
                                   (1000 to 60000); default ${d.heartbeatTimeoutMs}
  --workflow-task-timeout MS       how soon a workflow task of a lost worker goes to another
                                   (1000 to 120000); default ${d.workflowTaskTimeoutMs}

Each Temporal run of the chain continues as new after at most ${d.continueAsNewEvery} turns, and after each compaction.`;

const CONNECTION = `environment:
  TEMPORAL_ADDRESS (default ${env.TEMPORAL_ADDRESS}), TEMPORAL_NAMESPACE (default ${env.TEMPORAL_NAMESPACE}), TEMPORAL_TLS,
  TEMPORAL_API_KEY; LONGHAUL_ENCRYPTION_KEYS or _KEY_FILE to read encrypted runs`;
const QUEUE = `  LONGHAUL_TASK_QUEUE (default ${env.LONGHAUL_TASK_QUEUE}): the workers' task queue`;

// The flag every answer takes, then what every answer shares: below each page's own flags.
const ANSWER_NOTE = `  --escalation ID     the escalation to answer (default: the open one, from the memo)

The answer goes through the run's \`respond\` update: the workflow checks it against the open
escalation, and a refused answer prints the reason and changes nothing. It needs a worker polling the
run's task queue; the CLI waits up to ${s(UPDATE_WAIT_MS)} for one to take it.`;

const PAGES: Record<string, string> = {
  run: `usage: longhaul run [run options]

Submits a run, follows it live (as \`longhaul follow\`), then prints its report and figures. The
run id is printed first. Exit 0 when the run completes, 1 otherwise.

${RUN_OPTIONS}

${CONNECTION}
${QUEUE}

example:
  longhaul run --workspace ./repo --max-turns 400 --task "Audit every file under src/ for unsafe SQL"`,

  submit: `usage: longhaul submit [run options]

Submits a run and prints its id; follow it with \`longhaul follow ID\`.

${RUN_OPTIONS}

${CONNECTION}
${QUEUE}

example:
  longhaul submit --workspace ./repo --task-file audit.md --budget-usd 20 --id audit-src`,

  status: `usage: longhaul status <id> [--json]

One line: turn of the cap, tokens, cost, compactions, the run's place in its chain, and its status,
or the question it waits on. Asked of a worker (it waits ${s(QUERY_WAIT_MS)} for one); a finished
run's figures come from its result, with no worker; otherwise from the run's memo, and a second
line says so and what is not known. A run Temporal cancelled or terminated shows as such, never
as running.

  --json   the same as JSON (the progress, with status, temporalStatus and source: query, result, memo or none)

example:
  longhaul status ${EXAMPLE_ID}`,

  follow: `usage: longhaul follow <id> [--json]

Live progress until the run ends, then its report (as \`longhaul result\`). On a terminal one line
redrawn in place; otherwise a line per notable change. When the run waits on a person it prints
the question and the exact commands that answer it. Needs a worker polling the run's task queue.

  --json   a JSON line per change ({"progress": …}), the result as the last line ({"result": …})

example:
  longhaul follow ${EXAMPLE_ID}`,

  result: `usage: longhaul result <id> [--json]

Waits for the run's end and prints its status, figures (turns, tokens, cache, cost, the history's
size over the chain) and report. A finished run's result needs no worker.

  --json   the result as JSON

example:
  longhaul result ${EXAMPLE_ID} --json`,

  list: `usage: longhaul list [--status S] [--json]

The latest run of each longhaul workflow, newest start first: status, turn of the cap and cost (from
the memo), start time, and Temporal's status. From visibility: no worker needed. A run this client
cannot read (encrypted with a key it lacks) is listed, and a line below the table says why.

  --status S   only runs shown with this status: ${LIST_STATUSES.join(', ')}
  --json       the rows as JSON

example:
  longhaul list --status awaiting_human`,

  pending: `usage: longhaul pending [--json]

Every run waiting on a person, newest first, with its escalation, kind, deadline and question. Found
through visibility (the search attribute and the memo), so a run is listed even when no worker
answers; workers are asked for the whole escalations (a held call's approval detail) for up to
${s(QUERY_WAIT_MS)}, and a line says what could not be shown when none answered.

  --json   one array: { runId, escalation } (whole); where no worker answered, also source (memo:
           the memo's part of the escalation; none: not known) and taskQueue; and
           { runId, unreadable } for a run this client cannot read

example:
  longhaul pending`,

  held: `usage: longhaul held <id>

The tool call a run waits to have approved, with its whole input, as JSON (a large input is read
from the store: LONGHAUL_STORE_DIR or LONGHAUL_STORE_URL). Needs a worker to answer the query.

example:
  longhaul held ${EXAMPLE_ID} | jq .input`,

  approve: `usage: longhaul approve <id> [--message TEXT] [--escalation ID]

Approves the held tool call (it runs), or what the model asked for, or to go on after failures.

  --message TEXT      passed to the model with the approval (optional)
${ANSWER_NOTE}

example:
  longhaul approve ${EXAMPLE_ID}`,

  deny: `usage: longhaul deny <id> --message TEXT [--escalation ID]

Declines the held tool call or the model's request; the model is told why and goes on.

  --message TEXT      why (required)
${ANSWER_NOTE}

example:
  longhaul deny ${EXAMPLE_ID} --message "not on prod; use staging"`,

  reply: `usage: longhaul reply <id> TEXT [--escalation ID]

Answers the model's question (or says what to do after failures or a refusal) with TEXT.

${ANSWER_NOTE}

example:
  longhaul reply ${EXAMPLE_ID} "Yes, migrate the users table first"`,

  extend: `usage: longhaul extend <id> [--turns N] [--tokens N] [--usd N] [--escalation ID]

Answers a run waiting at its turn cap, token budget or dollar budget by raising it, and it goes on.

  --turns N     turns to add to the cap
  --tokens N    tokens to add to the budget
  --usd N       dollars to add to the budget (e.g. 2.50)
${ANSWER_NOTE}

example:
  longhaul extend ${EXAMPLE_ID} --turns 200`,

  stop: `usage: longhaul stop <id> [--message TEXT]

Ends a run the way longhaul ends it: after the step in flight (a model call or a tool call finishes
first), as stopped, with the reason "stopped by <you>: TEXT", its report and transcript kept. A run
waiting on a person stops at once (the escalation closes with decision stop). Refused, with the
reason, once the run is ending. It needs a worker polling the run's task queue; the CLI waits up to
${s(UPDATE_WAIT_MS)} for one to take it. Compare \`longhaul cancel\`.

  --message TEXT   why, recorded in the reason

example:
  longhaul stop ${EXAMPLE_ID} --message "enough for today"`,

  cancel: `usage: longhaul cancel <id>

Ends a run now through Temporal's cancellation: the step in flight is abandoned, and the run ends
as cancelled, without a report. Use it when \`longhaul stop\` cannot work (no worker, or a step that
never finishes). Compare \`longhaul stop\`, which ends it after the step in flight and keeps the report.

example:
  longhaul cancel ${EXAMPLE_ID}`,

  export: `usage: longhaul export <id> [--format markdown|json] [--json] [--out FILE] [--history FILE]

The record of the whole run: every Temporal run of its chain (continue-as-new), every turn with its
number, compaction summaries in place, and every escalation with who answered what and when. Read
from the transcript store (the worker's: LONGHAUL_STORE_DIR or LONGHAUL_STORE_URL, and
LONGHAUL_ENCRYPTION_KEYS if it is encrypted); a finished run needs no worker, a live one needs a
worker to answer its query.

  --format markdown   (default) for reading: system prompt, task, every message, tool calls with
                      their inputs, tool results (long ones cut, with a note), compaction summaries
  --format json       run metadata (id, status, counters, state) and the messages; --json is the same
  --out FILE          write the transcript to FILE instead of stdout
  --history FILE      also write the Temporal event history of every run of the chain, oldest
                      first: { workflowId, runs: [{ runId, history }] }

example:
  longhaul export ${EXAMPLE_ID} --out run.md --history run-history.json`,

  worker: `usage: longhaul worker

Starts a worker: it polls LONGHAUL_TASK_QUEUE (default ${env.LONGHAUL_TASK_QUEUE}) and runs the runs' workflows and
activities until SIGINT or SIGTERM.

environment:
  TEMPORAL_ADDRESS (default ${env.TEMPORAL_ADDRESS}), TEMPORAL_NAMESPACE, TEMPORAL_TLS, TEMPORAL_API_KEY
  ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL      the model API
  LONGHAUL_STORE_DIR (default ${env.LONGHAUL_STORE_DIR}) or LONGHAUL_STORE_URL (PostgreSQL): the transcript store
  LONGHAUL_WORKSPACE_ROOTS                   where run workspaces may lie
  LONGHAUL_TOOL_POLICIES                     the ceiling of every run's tool policies
  LONGHAUL_WEBHOOK_ALLOW                     origins escalation webhooks may go to
  LONGHAUL_PRICES                            prices over the model table's (JSON inline or a file)
  LONGHAUL_TOOLS=workspace,coding            adds edit_file, glob, grep, run_command, with
  LONGHAUL_COMMAND_ALLOW=npm test,git diff   and LONGHAUL_SANDBOX=auto|bwrap|off
  LONGHAUL_ENCRYPTION_KEYS or _KEY_FILE      encrypt payloads and the store

example:
  LONGHAUL_WORKSPACE_ROOTS=$HOME/work ANTHROPIC_API_KEY=… longhaul worker`,

  'codec-server': `usage: longhaul codec-server [--port N] [--host H] [--cors-origin URL]

Decrypts payloads for the Temporal Web UI (its "codec server" setting), with the keys in
LONGHAUL_ENCRYPTION_KEYS or LONGHAUL_ENCRYPTION_KEY_FILE. Every request needs the token:
LONGHAUL_CODEC_TOKEN, else one is made and printed.

  --port N            default ${DEFAULT_CODEC_PORT} (0 picks a free one)
  --host H            default ${DEFAULT_CODEC_HOST} (loopback only)
  --cors-origin URL   the Web UI's origin; default ${DEFAULT_CORS_ORIGIN}

example:
  LONGHAUL_ENCRYPTION_KEY_FILE=keys.txt longhaul codec-server --port 8888`,

  console: `usage: longhaul console [--port N] [--host H] [--token T] [--web-ui URL]

A web console for the runs of the namespace: the list, each run's live progress, state,
compactions, costs, escalations and transcript, and answering (approve, deny, reply, extend,
stop). It works with no worker polling (visibility, memos and the store answer) and says when an
action needs one. Every request needs the token.

  --port N       default: a free port, printed at start
  --host H       default 127.0.0.1 (loopback only)
  --token T      the token (or LONGHAUL_CONSOLE_TOKEN); default: one is made and printed
  --web-ui URL   the Temporal Web UI, for links to each run; default http://localhost:8233

${CONNECTION}
  LONGHAUL_STORE_DIR or LONGHAUL_STORE_URL: the worker's transcript store

example:
  longhaul console --port 8780`,
};

/** The general page: every command in a line, and where the rest is. */
export const USAGE = `usage: longhaul <command> [options]     (longhaul <command> --help: its options, defaults and an example)

commands:
  run [run options]          submit a run, follow it live, print its report
  submit [run options]       submit a run and print its id
  status <id> [--json]       one line: turn, tokens, cost, compactions, status (no worker needed)
  follow <id> [--json]       live progress until the run ends, then its report
  result <id> [--json]       wait for the run's end and print its report and figures
  list [--status S]          runs, newest first (no worker needed)
  pending [--json]           runs waiting on a person, with their questions (no worker needed)
  held <id>                  the tool call a run waits to have approved, with its whole input
  approve <id>               approve the held tool call / request
  deny <id> --message TEXT   decline; the model is told why
  reply <id> TEXT            answer the model's question
  extend <id> --turns N | --tokens N | --usd N
                             raise the turn cap, token budget or dollar budget
  stop <id> [--message TEXT] end the run after the step in flight, as stopped, keeping its report
  cancel <id>                end the run now (Temporal cancellation), as cancelled
  export <id>                the whole run's transcript and escalations, Markdown or JSON
  worker                     start a worker
  codec-server               decrypt payloads for the Temporal Web UI
  console                    a web console for watching and answering runs

example:
  longhaul run --workspace ./repo --max-turns ${d.maxTurns} --task "Audit every file under src/ for unsafe SQL"`;

/** A command's page, or undefined for a command that has none (an unknown one). */
export const helpPage = (command: string): string | undefined => PAGES[command];

export const COMMANDS = Object.keys(PAGES);
