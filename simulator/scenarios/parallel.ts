import {
  answeredInResultOrder,
  DEFAULT_SUMMARY,
  toolUse,
  type Action,
  type Scenario,
  type ScenarioContext,
} from './scenario.js';

/**
 * A reply of several tool calls: each task line `In one reply: call <tool> with <json input>` is
 * one call, and all of them come in the first reply, in the task's order. Once they have their
 * results, it finishes with a report of one line a result, in the order the results came back in
 * (the client should keep the calls' order): `<tool> said|failed: <result>`.
 */
const CALL = /^\s*In one reply: call (\S+) with (.*)$/gm;

interface Call {
  tool: string;
  input: unknown;
}

function callsOf(task: string): Call[] | string | null {
  const matches = [...task.matchAll(CALL)];
  if (!matches.length) return null;
  const calls: Call[] = [];
  for (const [, tool, json] of matches) {
    try {
      calls.push({ tool: tool!, input: JSON.parse(json!) });
    } catch {
      return `In one reply: the input of ${tool} is not JSON: ${json}`;
    }
  }
  return calls;
}

function act(context: ScenarioContext, calls: Call[]): Action {
  const results = answeredInResultOrder(context.messages).filter((e) => e.name !== 'finish');
  if (!results.length) return { blocks: calls.map((c) => toolUse(c.tool, c.input)), stopReason: 'tool_use' };
  const lines = results.map((e) => `${e.name} ${e.result!.isError ? 'failed' : 'said'}: ${e.result!.text}`);
  return { blocks: [toolUse('finish', { report: lines.join('\n') })], stopReason: 'tool_use' };
}

export function parallelScenario(task: string): Scenario | null {
  const calls = callsOf(task);
  if (calls === null) return null;
  return {
    act: (context) =>
      typeof calls === 'string'
        ? { blocks: [toolUse('finish', { report: calls })], stopReason: 'tool_use' }
        : act(context, calls),
    summarize: () => DEFAULT_SUMMARY,
  };
}
