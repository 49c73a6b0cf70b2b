import { blocksOf } from '../protocol.js';
import {
  DEFAULT_SUMMARY,
  finish,
  text,
  toolExchanges,
  toolUse,
  type Action,
  type Scenario,
  type ScenarioContext,
} from './scenario.js';

/**
 * Short scripted runs that probe how a client answers escalations. Each finishes with a report
 * that quotes what the model was shown, so a test can check what reached the model.
 * Selected by a task that starts with `[sim:NAME]`.
 */
const call = (name: string, input: unknown): Action => ({ blocks: [toolUse(name, input)], stopReason: 'tool_use' });

/** The latest user text that relays a person's words (the client writes "A person says: …"). */
function personSays(context: ScenarioContext): string | null {
  const texts = context.messages
    .filter((m) => m.role === 'user')
    .flatMap((m) => blocksOf(m))
    .flatMap((b) =>
      b.type === 'text' && typeof b.text === 'string' && b.text.startsWith('A person says: ') ? [b.text] : [],
    );
  return texts.at(-1) ?? null;
}

function answered(context: ScenarioContext, tool: string) {
  return toolExchanges(context.messages).findLast((e) => e.name === tool && e.result !== null)?.result ?? null;
}

const PROBES: Record<string, (context: ScenarioContext, argument: string) => Action> = {
  /**
   * `[sim:call TOOL] {json input}`: calls any tool once, then reports its result, the tools it
   * was offered and the first line of its instructions (for agent profiles' tools and prompts).
   */
  call: (context, argument) => {
    const [, tool = '', json = '{}'] = /^(\S+)\s*([\s\S]*)$/.exec(argument) ?? [];
    const result = answered(context, tool);
    if (result) {
      const firstLine = context.instructions.split('\n')[0];
      return finish(
        `${tool} ${result.isError ? 'failed' : 'said'}: ${result.text} | offered: ${context.tools.join(', ')} | instructions: ${firstLine}`,
      );
    }
    try {
      return call(tool, JSON.parse(json));
    } catch {
      return finish(`[sim:call] needs a tool name and a JSON input, got ${JSON.stringify(argument)}`);
    }
  },
  /**
   * `[sim:calls] [["TOOL", {json input}], …]`: makes each call in turn, one a reply, then reports
   * what each was told, in order (for calls a person approves one by one).
   */
  calls: (context, argument) => {
    let calls: unknown;
    try {
      calls = JSON.parse(argument);
    } catch {
      // reported below
    }
    const isCall = (c: unknown): c is [string, unknown] => Array.isArray(c) && typeof c[0] === 'string';
    if (!Array.isArray(calls) || !calls.every(isCall))
      return finish(`[sim:calls] needs a JSON array of [tool, input] pairs, got ${JSON.stringify(argument)}`);
    const done = toolExchanges(context.messages).filter((e) => e.result !== null);
    const next = calls[done.length];
    if (next) return call(next[0], next[1]);
    return finish(done.map((e) => `${e.name} ${e.result!.isError ? 'error' : 'ok'}: ${e.result!.text}`).join(' | '));
  },
  /** Asks a person through escalate_to_human, then reports the answer it saw. */
  'ask-human': (context) => {
    const result = answered(context, 'escalate_to_human');
    if (!result)
      return call('escalate_to_human', { reason: 'a decision is needed', question: 'Proceed with the migration?' });
    return finish(`human ${result.isError ? 'declined' : 'answered'}: ${result.text}`);
  },
  /** Writes out.txt (a tool that may need approval), then reports the tool's result. */
  write: (context) => {
    const result = answered(context, 'write_file');
    if (!result) return call('write_file', { path: 'out.txt', content: 'hello\n' });
    return finish(`write ${result.isError ? 'failed' : 'succeeded'}: ${result.text}`);
  },
  /** Reads missing files until a person's guidance arrives, then reports it. */
  'fail-tools': (context) => {
    const guidance = personSays(context);
    if (guidance) return finish(`guidance: ${guidance}`);
    const attempts = toolExchanges(context.messages).filter((e) => e.name === 'read_file').length;
    return call('read_file', { path: `missing-${attempts + 1}.txt` });
  },
  /** Refuses until a person's guidance arrives, then reports it. */
  refuse: (context) => {
    const guidance = personSays(context);
    if (guidance) return finish(`after refusal: ${guidance}`);
    return { blocks: [text('I cannot help with that.')], stopReason: 'refusal' };
  },
  /** Sends a tool input that breaks the tool's schema, then reports the error it was shown. */
  'bad-tool-input': (context) => {
    const result = answered(context, 'read_file');
    if (!result) return call('read_file', { file: 42 });
    return finish(`${result.isError ? 'error' : 'ok'}: ${result.text}`);
  },
  /** Calls a tool that does not exist, then reports the error it was shown. */
  'unknown-tool': (context) => {
    const result = answered(context, 'rm_rf');
    if (!result) return call('rm_rf', { path: '/' });
    return finish(`${result.isError ? 'error' : 'ok'}: ${result.text}`);
  },
  /**
   * `[sim:big-writes N SIZE]`: N write_file calls of SIZE characters each in one reply (content
   * before path, as a model may order them), then reports what each call was told.
   */
  'big-writes': (context, argument) => {
    const [n = 4, size = 1024 * 1024] = argument.split(/\s+/).filter(Boolean).map(Number);
    const done = toolExchanges(context.messages).filter((e) => e.name === 'write_file' && e.result !== null);
    if (done.length)
      return finish(done.map((e) => `${e.result!.isError ? 'error' : 'ok'}: ${e.result!.text}`).join(' | '));
    const writes = Array.from({ length: n }, (_, i) =>
      toolUse('write_file', { content: String.fromCharCode(97 + (i % 26)).repeat(size), path: `big-${i}.txt` }),
    );
    return { blocks: writes, stopReason: 'tool_use' };
  },
  /** Never finishes: lists the workspace every turn, for caps and budgets. */
  forever: () => call('list_files', {}),
};

export function probeScenario(task: string): Scenario | null {
  const match = /^\s*\[sim:([\w-]+)(?: ([^\]]*))?\]\s*([\s\S]*)$/.exec(task);
  const probe = match ? PROBES[match[1]!] : undefined;
  // The argument: inside the tag after the name, then the rest of the task.
  const argument = match ? [match[2], match[3]].filter(Boolean).join(' ') : '';
  return probe ? { act: (context) => probe(context, argument), summarize: () => DEFAULT_SUMMARY } : null;
}
