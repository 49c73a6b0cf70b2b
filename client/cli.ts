/** The `longhaul` command line. It talks to Temporal, and for `export` reads the transcript store; it never imports activities. */
import type { WorkflowHandle } from '@temporalio/client';
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { loadKeyring } from '../config/codec.js';
import { ConfigError, readEnv } from '../config/env.js';
import type { AgentRunWorkflow } from '../common/messages.js';
import { modelSpec } from '../common/models.js';
import { progressQuery, type Progress } from '../common/messages.js';
import { openStore, type BlobRef } from '../store/index.js';
import { answer, heldCall, listPending, listRuns, pendingTable, runsTable } from './escalations.js';
import { connectClient, RunOptionsError, runIdProblem, startRun } from './connect.js';
import { awaitResult, chainHistoryJSON, exportMarkdown, readExport, readRun, type RunExport } from './export.js';
import { progressBar, progressLine, questionParts, resultText } from './format.js';
import { dollars, runFlagSpec, runOptionsFromFlags, UsageError, wholeNumber } from './run-flags.js';

const USAGE = `usage: longhaul <command> [options]

commands:
  run [run options]        submit a run, follow it live, print its report
  submit [run options]     submit a run and print its id
  status <id> [--json]     one line: turn, tokens, cost, compactions, status
  follow <id> [--json]     live progress until the run ends, then its report (--json: JSON lines)
  result <id> [--json]     wait for the run's end and print its report and figures
  list [--status S]        runs of longhaul (S: running, awaiting_human, completed, stopped, failed)
  cancel <id>              cancel a run (it ends as cancelled in Temporal)
  export <id> [--format markdown|json] [--out FILE] [--history FILE]
                           the run's transcript from the store, and its Temporal history (see export --help)
  pending [--json]         runs waiting on a person, with their questions (--json: the escalations whole)
  held <id>                the tool call a run waits to have approved, with its whole input, as JSON
                           (a large input is read from the store: LONGHAUL_STORE_DIR or _URL)
  approve <id> [--message TEXT]            approve the held tool call / request
  deny <id> --message TEXT                 decline; the model is told why
  reply <id> TEXT                          answer the model's question
  extend <id> [--turns N] [--tokens N] [--usd N]
                                           raise the turn cap, token budget or dollar budget
  stop <id> [--message TEXT]               end the run
    (each takes --escalation ID to name the escalation; default: the open one)
  worker                   start a worker (env: TEMPORAL_ADDRESS, LONGHAUL_TASK_QUEUE, ANTHROPIC_*,
                           LONGHAUL_WORKSPACE_ROOTS, LONGHAUL_TOOL_POLICIES, LONGHAUL_WEBHOOK_ALLOW,
                           LONGHAUL_PRICES: prices over the model table's, JSON inline or a file;
                           LONGHAUL_TOOLS=workspace,coding for edit_file, glob, grep, run_command,
                           with LONGHAUL_COMMAND_ALLOW=npm test,git diff and LONGHAUL_SANDBOX=auto|bwrap|off)
  codec-server [--port 8888] [--host 127.0.0.1] [--cors-origin http://localhost:8233]
                           decrypt payloads for the Web UI (env: LONGHAUL_ENCRYPTION_KEYS or _KEY_FILE;
                           LONGHAUL_CODEC_TOKEN, the token every request needs, else one is made and printed)

run options:
  --task TEXT | --task-file PATH   what the agent should do (required)
  --workspace DIR                  directory the file tools are confined to (default: .); must lie
                                   under one of the worker's LONGHAUL_WORKSPACE_ROOTS
  --agent NAME                     an agent profile the workers serve (its tools and defaults)
  --model NAME  --max-turns N  --max-output-tokens N  --system-prompt TEXT
  --compaction-trigger N (>= 50000)  --compaction-instructions TEXT
  --pause-after-compaction  --no-compaction  --no-state
  --id RUN_ID                      letters, digits, . _ - : @ (at most 200; default longhaul-<date>-<random>)
  --budget-usd N                    dollars the run may spend, at the worker's prices (--on-cap applies)
  --token-budget N  --tool-policy NAME=allow|approve|deny (repeatable; never wider than the
                                   worker's or the agent's own; write_file, edit_file and
                                   run_command ask by default)
  --on-cap escalate|stop|wrap-up  --escalation-timeout SECONDS  --on-timeout deny|stop
  --max-failures N  --webhook URL (its origin must be on the worker's LONGHAUL_WEBHOOK_ALLOW)

example:
  longhaul run --workspace ./repo --max-turns 400 --task "Audit every file under src/ for unsafe SQL"`;

const EXPORT_USAGE = `usage: longhaul export <id> [--format markdown|json] [--json] [--out FILE] [--history FILE]

Reads the run's transcript from the transcript store (the worker's: LONGHAUL_STORE_DIR or
LONGHAUL_STORE_URL, and LONGHAUL_ENCRYPTION_KEYS if it is encrypted). Works for finished runs too,
while Temporal keeps their history (a worker must be polling to answer the query).

  --format markdown   (default) for reading: system prompt, task, every message, tool calls with
                      their inputs, tool results (long ones cut, with a note), compaction summaries
  --format json       run metadata (id, status, counters, state) and the messages exactly as the
                      API gets them; --json is the same
  --out FILE          write the transcript to FILE instead of stdout
  --history FILE      also write the Temporal event history of every run of the chain
                      (continue-as-new), oldest first: { workflowId, runs: [{ runId, history }] }

The transcript starts at the last compaction: the model's context, as it was sent.

example:
  longhaul export longhaul-2026-11-22-1a2b3c4d --out run.md --history run-history.json`;

const POLL_MS = 500;

async function printResult(handle: WorkflowHandle<AgentRunWorkflow>): Promise<number> {
  const result = await awaitResult(handle);
  // Totals over every Temporal run of the chain (continue-as-new), and the largest single run.
  const figures = { runs: 0, historyEvents: 0, historyBytes: 0, largestRunBytes: 0 };
  for await (const run of handle.client.list({ query: `WorkflowId = '${handle.workflowId}'` })) {
    figures.runs += 1;
    figures.historyEvents += run.historyLength;
    figures.historyBytes += run.historySize ?? 0;
    figures.largestRunBytes = Math.max(figures.largestRunBytes, run.historySize ?? 0);
  }
  process.stdout.write(`${resultText(result, figures)}\n`);
  return result.status === 'completed' ? 0 : 1;
}

/**
 * Live progress until the run ends. On a terminal: one line redrawn in place (a bar). Otherwise a
 * line per notable change (status, compaction, every 25 turns); with `json`, a JSON line per
 * change on stdout and the result as the last line. A held call's approval detail is printed
 * once, when its escalation opens.
 */
async function follow(handle: WorkflowHandle<AgentRunWorkflow>, json = false): Promise<number> {
  let done = false;
  const finished = awaitResult(handle).finally(() => (done = true));
  finished.catch(() => undefined);
  const tty = !json && process.stderr.isTTY;
  let last = '';
  let lastPrinted: Progress | undefined;
  let detailShown: string | undefined;
  while (!done) {
    const p = await handle.query(progressQuery).catch(() => undefined);
    // What counts as a change: the drawn bar; for JSON lines, what a reader acts on (not the
    // transcript refs, which move with every model call).
    const line =
      p &&
      (tty
        ? progressBar(p, handle.workflowId, { columns: process.stderr.columns })
        : json
          ? `${p.counters.turn} ${p.status} ${p.counters.compactions} ${p.escalation?.id}`
          : progressLine(p));
    // A held call's approval detail (below the question's first line), shown once per escalation:
    // above the bar on a terminal, else below the printed line.
    const opened = p?.escalation && p.escalation.id !== detailShown ? p.escalation : undefined;
    if (opened) detailShown = opened.id;
    const question = opened && !json ? questionParts(opened) : undefined;
    const below = question?.below ? `${question.below}\n` : '';
    if (p && line && (line !== last || below)) {
      last = line;
      if (tty) process.stderr.write(`\r\x1b[2K${below ? `${question!.line}\n${below}` : ''}${line}`);
      else if (json) process.stdout.write(`${JSON.stringify({ progress: p })}\n`);
      else if (
        below ||
        !lastPrinted ||
        p.counters.turn - lastPrinted.counters.turn >= 25 ||
        p.status !== lastPrinted.status ||
        p.counters.compactions !== lastPrinted.counters.compactions
      ) {
        process.stderr.write(`${line}\n${below}`);
        lastPrinted = p;
      }
    }
    await Promise.race([finished.catch(() => undefined), new Promise((r) => setTimeout(r, POLL_MS))]);
  }
  if (tty && last) process.stderr.write('\n');
  if (!json) return printResult(handle);
  process.stdout.write(`${JSON.stringify({ result: await awaitResult(handle) })}\n`);
  return 0;
}

/**
 * What `longhaul worker` runs. bin/longhaul.mjs passes the worker's entry point: client/ does not
 * import worker/ (eslint.config.js: layers), and the worker's dependencies load only for that command.
 */
export interface WorkerCommand {
  runWorker: () => Promise<void>;
}

export async function main(argv: string[], { runWorker }: WorkerCommand): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(`${USAGE}\n`);
    return command ? 0 : 2;
  }
  switch (command) {
    case 'worker': {
      const { values } = parseArgs({
        args: rest,
        options: { help: { type: 'boolean', short: 'h' } },
        strict: true,
        allowPositionals: false,
      });
      if (values.help) return (process.stdout.write(`${USAGE}\n`), 0);
      await runWorker();
      return 0;
    }
    case 'codec-server': {
      const { values } = parseArgs({
        args: rest,
        options: {
          port: { type: 'string' },
          host: { type: 'string' },
          'cors-origin': { type: 'string' },
          help: { type: 'boolean', short: 'h' },
        },
        strict: true,
        allowPositionals: false,
      });
      if (values.help) return (process.stdout.write(`${USAGE}\n`), 0);
      const port = wholeNumber('port', values.port);
      if (port !== undefined && port > 65535) throw new UsageError(`--port: expected 0..65535, got ${port}`);
      const env = readEnv();
      const keyring = loadKeyring(env);
      if (!keyring)
        throw new ConfigError(
          'codec-server needs the keys: set LONGHAUL_ENCRYPTION_KEYS or LONGHAUL_ENCRYPTION_KEY_FILE',
        );
      const { serveCodec } = await import('./codec-server.js');
      await serveCodec(keyring, {
        token: env.LONGHAUL_CODEC_TOKEN,
        ...(port !== undefined ? { port } : {}),
        ...(values.host !== undefined ? { host: values.host } : {}),
        ...(values['cors-origin'] !== undefined ? { corsOrigin: values['cors-origin'] } : {}),
      });
      return 0;
    }
    case 'console': {
      const { values } = parseArgs({
        args: rest,
        options: {
          port: { type: 'string' },
          host: { type: 'string' },
          token: { type: 'string' },
          'web-ui': { type: 'string' },
          help: { type: 'boolean', short: 'h' },
        },
        strict: true,
        allowPositionals: false,
      });
      if (values.help) return (process.stdout.write(`${USAGE}\n`), 0);
      const port = wholeNumber('port', values.port);
      if (port !== undefined && port > 65535) throw new UsageError(`--port: expected 0..65535, got ${port}`);
      const { startConsole, newConsoleToken, MIN_TOKEN_CHARS } = await import('./console/index.js');
      const token = values.token ?? process.env.LONGHAUL_CONSOLE_TOKEN ?? newConsoleToken();
      if (token.length < MIN_TOKEN_CHARS)
        throw new UsageError(`--token (or LONGHAUL_CONSOLE_TOKEN): at least ${MIN_TOKEN_CHARS} characters`);
      if (values['web-ui'] !== undefined && !/^https?:\/\/[^\s]+$/.test(values['web-ui']))
        throw new UsageError(`--web-ui: expected an http(s) URL, got ${JSON.stringify(values['web-ui'])}`);
      const { client, connection, env, keyring } = await connectClient();
      const store = await openStore(env, keyring);
      const server = await startConsole({
        client,
        store,
        token,
        ...(port !== undefined ? { port } : {}),
        ...(values.host !== undefined ? { host: values.host } : {}),
        ...(values['web-ui'] !== undefined ? { webUi: values['web-ui'] } : {}),
      });
      // The token is printed only when this made it: a configured one stays out of logs.
      const given = values.token ?? process.env.LONGHAUL_CONSOLE_TOKEN;
      process.stdout.write(
        `longhaul console for namespace ${env.TEMPORAL_NAMESPACE} at ${server.url}\n` +
          (given ? `open ${server.url}/?token=<your token>\n` : `open ${server.url}/?token=${token}\n`),
      );
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await server.close();
      await store.close();
      await connection.close();
      return 0;
    }
    case 'run':
    case 'submit': {
      const { values } = parseArgs({
        args: rest,
        options: { ...runFlagSpec, help: { type: 'boolean', short: 'h' } },
        strict: true,
      });
      if (values.help) return (process.stdout.write(`${USAGE}\n`), 0);
      const options = runOptionsFromFlags(values);
      // A warning, not a refusal: a model newer than this table may exist; the API decides at the first call.
      if (options.model !== undefined && !modelSpec(options.model)) {
        process.stderr.write(
          `warning: --model ${options.model} is not in longhaul's model table (no price, no known limits); the run fails at its first call if the API does not know it\n`,
        );
      }
      const idProblem = values.id === undefined ? null : runIdProblem(values.id);
      if (idProblem) throw new UsageError(`--id: ${idProblem}`);
      const { client, connection, env } = await connectClient();
      try {
        const handle = await startRun(client, options, {
          taskQueue: env.LONGHAUL_TASK_QUEUE,
          workspaceRoots: env.LONGHAUL_WORKSPACE_ROOTS,
          ...(values.id ? { workflowId: values.id } : {}),
        });
        process.stdout.write(`${handle.workflowId}\n`);
        return command === 'run' ? await follow(handle) : 0;
      } finally {
        await connection.close();
      }
    }
    case 'status':
    case 'follow':
    case 'result':
    case 'cancel': {
      const { positionals, values } = parseArgs({
        args: rest,
        options: { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
        strict: true,
        allowPositionals: true,
      });
      if (values.help) return (process.stdout.write(`${USAGE}\n`), 0);
      if (positionals.length !== 1) throw new UsageError(`${command} takes exactly one run id`);
      const { client, connection } = await connectClient();
      try {
        const handle = client.workflow.getHandle<AgentRunWorkflow>(positionals[0]!);
        if (command === 'status') {
          const progress = await handle.query(progressQuery);
          process.stdout.write(`${values.json ? JSON.stringify(progress) : progressLine(progress)}\n`);
          return 0;
        }
        if (command === 'cancel') {
          await handle.cancel();
          process.stdout.write(`cancellation requested for ${handle.workflowId}\n`);
          return 0;
        }
        if (command === 'follow') return await follow(handle, values.json);
        if (values.json) {
          process.stdout.write(`${JSON.stringify(await awaitResult(handle))}\n`);
          return 0;
        }
        return await printResult(handle);
      } finally {
        await connection.close();
      }
    }
    case 'export': {
      const { positionals, values } = parseArgs({
        args: rest,
        options: {
          format: { type: 'string' },
          json: { type: 'boolean' },
          out: { type: 'string' },
          history: { type: 'string' },
          help: { type: 'boolean', short: 'h' },
        },
        strict: true,
        allowPositionals: true,
      });
      if (values.help) return (process.stdout.write(`${EXPORT_USAGE}\n`), 0);
      if (positionals.length !== 1) throw new UsageError('export takes exactly one run id');
      const format = values.format ?? (values.json ? 'json' : 'markdown');
      if (format !== 'markdown' && format !== 'json')
        throw new UsageError(`--format: expected markdown or json, got ${JSON.stringify(format)}`);
      if (values.json && format !== 'json') throw new UsageError('--json is --format json; give one or the other');
      const runId = positionals[0]!;
      const { client, connection, env, keyring } = await connectClient();
      try {
        const run = await readRun(client, runId);
        // The history comes from Temporal alone, so it is written even if the store is unreadable.
        if (values.history !== undefined) {
          const history = await chainHistoryJSON(client, runId);
          await writeFile(values.history, history.json);
          process.stderr.write(
            `history: ${history.events} events over ${history.runs} run${history.runs === 1 ? '' : 's'} written to ${values.history}\n`,
          );
        }
        const where = env.LONGHAUL_STORE_URL
          ? 'the PostgreSQL store (LONGHAUL_STORE_URL)'
          : `the store at ${env.LONGHAUL_STORE_DIR} (LONGHAUL_STORE_DIR)`;
        let doc: RunExport;
        try {
          const store = await openStore(env, keyring);
          try {
            doc = await readExport(runId, run, store);
          } finally {
            await store.close();
          }
        } catch (err) {
          throw new Error(
            `cannot read the transcript of ${runId} from ${where}: ${(err as Error).message.split('\n')[0]}`,
            { cause: err },
          );
        }
        const text = format === 'json' ? `${JSON.stringify(doc, null, 2)}\n` : exportMarkdown(doc, run.progress);
        if (values.out === undefined) process.stdout.write(text);
        else {
          await writeFile(values.out, text);
          process.stderr.write(`transcript (${doc.messages.length} messages) written to ${values.out}\n`);
        }
        return 0;
      } finally {
        await connection.close();
      }
    }
    case 'list': {
      const { values } = parseArgs({
        args: rest,
        options: { status: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
        strict: true,
      });
      if (values.help) return (process.stdout.write(`${USAGE}\n`), 0);
      const statuses = ['running', 'awaiting_human', 'completed', 'stopped', 'failed'];
      if (values.status !== undefined && !statuses.includes(values.status)) {
        throw new UsageError(`--status: expected one of ${statuses.join(', ')}, got ${JSON.stringify(values.status)}`);
      }
      const { client, connection } = await connectClient();
      try {
        const runs = await listRuns(client, values.status);
        process.stdout.write(`${values.json ? JSON.stringify(runs) : runsTable(runs)}\n`);
        return 0;
      } finally {
        await connection.close();
      }
    }
    case 'pending': {
      const { values } = parseArgs({
        args: rest,
        options: { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
        strict: true,
      });
      if (values.help) return (process.stdout.write(`${USAGE}\n`), 0);
      const { client, connection } = await connectClient();
      try {
        const pending = await listPending(client);
        // JSON: one array, a run that cannot be read here as { runId, unreadable } (no escalation).
        const json = () => JSON.stringify([...pending.pending, ...pending.unreadable]);
        process.stdout.write(`${values.json ? json() : pendingTable(pending)}\n`);
        return 0;
      } finally {
        await connection.close();
      }
    }
    case 'held': {
      const { positionals, values } = parseArgs({
        args: rest,
        options: { help: { type: 'boolean', short: 'h' } },
        strict: true,
        allowPositionals: true,
      });
      if (values.help) return (process.stdout.write(`${USAGE}\n`), 0);
      if (positionals.length !== 1) throw new UsageError('held takes exactly one run id');
      const { client, connection, env, keyring } = await connectClient();
      try {
        const call = await heldCall(client, positionals[0]!, async (ref) => {
          const store = await openStore(env, keyring);
          try {
            return await store.get(ref as BlobRef);
          } finally {
            await store.close();
          }
        });
        process.stdout.write(`${JSON.stringify(call, null, 2)}\n`);
        return 0;
      } finally {
        await connection.close();
      }
    }
    case 'approve':
    case 'deny':
    case 'reply':
    case 'extend':
    case 'stop': {
      const { positionals, values } = parseArgs({
        args: rest,
        options: {
          escalation: { type: 'string' },
          message: { type: 'string' },
          turns: { type: 'string' },
          tokens: { type: 'string' },
          usd: { type: 'string' },
          help: { type: 'boolean', short: 'h' },
        },
        strict: true,
        allowPositionals: true,
      });
      if (values.help) return (process.stdout.write(`${USAGE}\n`), 0);
      const [runId, text, ...extra] = positionals;
      if (!runId) throw new UsageError(`${command} needs a run id`);
      if (extra.length || (text !== undefined && command !== 'reply'))
        throw new UsageError(`${command}: unexpected argument ${JSON.stringify(extra[0] ?? text)}`);
      const message = command === 'reply' ? (text ?? values.message) : values.message;
      if (command === 'reply' && message === undefined)
        throw new UsageError('reply needs the text: longhaul reply RUN_ID "your answer"');
      if (command === 'deny' && message === undefined)
        throw new UsageError('deny needs --message: the model is told why');
      const turns = wholeNumber('turns', values.turns);
      const tokens = wholeNumber('tokens', values.tokens);
      const usd = dollars('usd', values.usd);
      if (command === 'extend' && !turns && !tokens && !usd)
        throw new UsageError('extend needs --turns N, --tokens N and/or --usd N (N > 0)');
      const { client, connection } = await connectClient();
      try {
        const sent = await answer(client, runId, command, {
          ...(values.escalation ? { escalationId: values.escalation } : {}),
          ...(message !== undefined ? { message } : {}),
          ...(turns !== undefined ? { turns } : {}),
          ...(tokens !== undefined ? { tokens } : {}),
          ...(usd !== undefined ? { usd } : {}),
        });
        process.stdout.write(`${sent}\n`);
        return 0;
      } finally {
        await connection.close();
      }
    }
    default:
      throw new UsageError(`unknown command ${JSON.stringify(command)}; see longhaul --help`);
  }
}

export async function runCli(argv: string[], worker: WorkerCommand): Promise<void> {
  try {
    process.exitCode = await main(argv, worker);
  } catch (err) {
    const usage =
      err instanceof UsageError ||
      err instanceof ConfigError ||
      err instanceof RunOptionsError ||
      String((err as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS');
    process.stderr.write(`longhaul: ${(err as Error).message.split('\n')[0]}\n`);
    process.exitCode = usage ? 2 : 1;
  }
}
