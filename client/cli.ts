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
import { answer, heldCall, listPending, listRuns, pendingTable, runsTable, stopRun } from './escalations.js';
import { connectClient, RunOptionsError, runIdProblem, startRun } from './connect.js';
import { awaitResult, chainHistoryJSON, exportMarkdown, readExport, readRun, type RunExport } from './export.js';
import { childEvents, progressBar, progressLine, resultText, waitingText } from './format.js';
import { helpPage, USAGE } from './help.js';
import { askWorker, readStatus, statusText } from './status.js';
import { dollars, portNumber, runFlagSpec, runOptionsFromFlags, UsageError, wholeNumber } from './run-flags.js';
import { LIST_STATUSES, type ListStatus } from './runs-query.js';

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
 * change on stdout and the result as the last line. When a run starts waiting on a person, the
 * question (with a held call's approval detail) and the commands that answer it are printed
 * once; while no worker answers, a line says so once.
 */
async function follow(handle: WorkflowHandle<AgentRunWorkflow>, json = false): Promise<number> {
  let done = false;
  const finished = awaitResult(handle).finally(() => (done = true));
  finished.catch(() => undefined);
  const tty = !json && process.stderr.isTTY;
  let last = '';
  let lastPrinted: Progress | undefined;
  let waitingShown: string | undefined;
  const childrenSeen = new Map<string, string>();
  let silent = false;
  while (!done) {
    const asked = await askWorker(handle.client, () => handle.query(progressQuery));
    const p = asked.ok ? asked.value : undefined;
    if (!asked.ok && !silent && !done && !json) {
      silent = true;
      const queue = (await handle.describe().catch(() => undefined))?.taskQueue;
      process.stderr.write(
        `${tty && last ? '\n' : ''}${asked.why}; still following (the run goes on once a worker polls task queue ${queue ?? '?'})\n`,
      );
      last = '';
    }
    if (p) silent = false;
    // What counts as a change: the drawn bar; for JSON lines, what a reader acts on (not the
    // transcript refs, which move with every model call).
    const line =
      p &&
      (tty
        ? progressBar(p, handle.workflowId, { columns: process.stderr.columns })
        : json
          ? `${p.counters.turn} ${p.status} ${p.counters.compactions} ${p.escalation?.id}`
          : progressLine(p));
    const opened = p?.escalation && p.escalation.id !== waitingShown ? p.escalation : undefined;
    if (opened) waitingShown = opened.id;
    const childLines = !json && p ? childEvents(childrenSeen, p.children) : [];
    const waiting =
      (opened && !json ? `${waitingText(opened, handle.workflowId)}\n` : '') + childLines.map((l) => `${l}\n`).join('');
    if (p && line && (line !== last || waiting)) {
      last = line;
      if (tty) process.stderr.write(`\r\x1b[2K${waiting}${line}`);
      else if (json) process.stdout.write(`${JSON.stringify({ progress: p })}\n`);
      else if (
        waiting ||
        !lastPrinted ||
        p.counters.turn - lastPrinted.counters.turn >= 25 ||
        p.status !== lastPrinted.status ||
        p.counters.compactions !== lastPrinted.counters.compactions
      ) {
        process.stderr.write(`${line}\n${waiting}`);
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
    // `longhaul help run` is `longhaul run --help`.
    const page = command === 'help' && rest[0] !== undefined ? helpPage(rest[0]) : undefined;
    if (command === 'help' && rest[0] !== undefined && !page)
      throw new UsageError(`unknown command ${JSON.stringify(rest[0])}; see longhaul --help`);
    process.stdout.write(`${page ?? USAGE}\n`);
    return command ? 0 : 2;
  }
  // Every command's --help (before `--`, after which it could be a reply's text) prints its own page.
  const flags = rest.indexOf('--') === -1 ? rest : rest.slice(0, rest.indexOf('--'));
  if (flags.includes('--help') || flags.includes('-h')) {
    const page = helpPage(command);
    if (!page) throw new UsageError(`unknown command ${JSON.stringify(command)}; see longhaul --help`);
    process.stdout.write(`${page}\n`);
    return 0;
  }
  switch (command) {
    case 'worker': {
      parseArgs({ args: rest, options: {}, strict: true, allowPositionals: false });
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
        },
        strict: true,
        allowPositionals: false,
      });
      const port = portNumber('port', values.port);
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
        },
        strict: true,
        allowPositionals: false,
      });
      const port = portNumber('port', values.port);
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
        options: { ...runFlagSpec },
        strict: true,
      });
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
        options: { json: { type: 'boolean' } },
        strict: true,
        allowPositionals: true,
      });
      if (positionals.length !== 1) throw new UsageError(`${command} takes exactly one run id`);
      const { client, connection } = await connectClient();
      try {
        const handle = client.workflow.getHandle<AgentRunWorkflow>(positionals[0]!);
        if (command === 'status') {
          const view = await readStatus(client, handle.workflowId);
          const { runId, temporalStatus, status, source, progress, memo, note } = view;
          const json = progress
            ? { ...progress, status, temporalStatus, source }
            : { runId, status, temporalStatus, source, ...(memo ? { memo } : {}), note };
          process.stdout.write(`${values.json ? JSON.stringify(json) : statusText(view)}\n`);
          return 0;
        }
        if (command === 'cancel') {
          await handle.cancel();
          process.stdout.write(
            `cancellation requested for ${handle.workflowId}: it ends now as cancelled, the step in flight abandoned and no report written (longhaul stop ends it after the step, keeping the report)\n`,
          );
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
        },
        strict: true,
        allowPositionals: true,
      });
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
        options: { status: { type: 'string' }, json: { type: 'boolean' } },
        strict: true,
      });
      const status = values.status as ListStatus | undefined;
      if (status !== undefined && !LIST_STATUSES.includes(status)) {
        throw new UsageError(
          `--status: expected one of ${LIST_STATUSES.join(', ')}, got ${JSON.stringify(values.status)}`,
        );
      }
      const { client, connection } = await connectClient();
      try {
        const runs = await listRuns(client, status);
        process.stdout.write(`${values.json ? JSON.stringify(runs) : runsTable(runs)}\n`);
        return 0;
      } finally {
        await connection.close();
      }
    }
    case 'pending': {
      const { values } = parseArgs({
        args: rest,
        options: { json: { type: 'boolean' } },
        strict: true,
      });
      const { client, connection } = await connectClient();
      try {
        const pending = await listPending(client);
        // JSON: one array of { runId, escalation } (whole, from a worker); where no worker answered,
        // also source (memo: the memo's part of it; none: not known) and the task queue a worker must
        // poll; a run that cannot be read here as { runId, unreadable }.
        const json = () =>
          JSON.stringify([
            ...pending.pending.map(({ runId, escalation, source, taskQueue }) =>
              source === 'query' ? { runId, escalation } : { runId, escalation, source, taskQueue },
            ),
            ...pending.unreadable,
          ]);
        process.stdout.write(`${values.json ? json() : pendingTable(pending)}\n`);
        return 0;
      } finally {
        await connection.close();
      }
    }
    case 'held': {
      const { positionals } = parseArgs({
        args: rest,
        options: {},
        strict: true,
        allowPositionals: true,
      });
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
    case 'stop': {
      const { positionals, values } = parseArgs({
        args: rest,
        options: { message: { type: 'string' } },
        strict: true,
        allowPositionals: true,
      });
      if (positionals.length !== 1) throw new UsageError('stop takes exactly one run id (and --message TEXT)');
      const { client, connection } = await connectClient();
      try {
        const sent = await stopRun(client, positionals[0]!, {
          ...(values.message !== undefined ? { message: values.message } : {}),
        });
        process.stdout.write(`${sent}\n`);
        return 0;
      } finally {
        await connection.close();
      }
    }
    case 'approve':
    case 'deny':
    case 'reply':
    case 'extend': {
      // Each takes only its own flags: `approve --turns 5` is a mistake, not an approval.
      const { positionals, values } = parseArgs({
        args: rest,
        options: {
          escalation: { type: 'string' },
          ...(command === 'extend'
            ? { turns: { type: 'string' }, tokens: { type: 'string' }, usd: { type: 'string' } }
            : { message: { type: 'string' } }),
        },
        strict: true,
        allowPositionals: true,
      }) as { positionals: string[]; values: Record<string, string | undefined> };
      const [runId, text, ...extra] = positionals;
      if (!runId) throw new UsageError(`${command} needs a run id`);
      if (extra.length || (text !== undefined && command !== 'reply'))
        throw new UsageError(`${command}: unexpected argument ${JSON.stringify(extra[0] ?? text)}`);
      if (command === 'reply' && text !== undefined && values.message !== undefined)
        throw new UsageError('reply takes the text once: as its argument or as --message, not both');
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
