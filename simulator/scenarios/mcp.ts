import { DEFAULT_SUMMARY, toolExchanges, toolUse, type Scenario, type ScenarioContext } from './scenario.js';

/**
 * A run that calls MCP tools: each task line `MCP task: call <tool> with <json input>` is one
 * call, made in order, one a turn, whatever the previous one said. Then it finishes with a report
 * of one line a call, `<tool> said|failed: <result>`, and a last line naming the MCP tools
 * (`<server>__<tool>`) the final request offered.
 */
const STEP = /^\s*MCP task: call (\S+) with (.*)$/gm;

interface Step {
  tool: string;
  input: unknown;
}

function stepsOf(task: string): Step[] | string | null {
  const matches = [...task.matchAll(STEP)];
  if (!matches.length) return null;
  const steps: Step[] = [];
  for (const [, tool, json] of matches) {
    try {
      steps.push({ tool: tool!, input: JSON.parse(json!) });
    } catch {
      return `MCP task: the input of ${tool} is not JSON: ${json}`;
    }
  }
  return steps;
}

function act(context: ScenarioContext, steps: Step[]) {
  // Calls are matched to steps in order: the n-th answered call is step n's.
  const done = toolExchanges(context.messages).filter((e) => e.result !== null && e.name !== 'finish');
  const next = steps[done.length];
  if (next) return { blocks: [toolUse(next.tool, next.input)], stopReason: 'tool_use' as const };
  const lines = done.map((e) => `${e.name} ${e.result!.isError ? 'failed' : 'said'}: ${e.result!.text}`);
  const offered = context.tools.filter((t) => t.includes('__'));
  const report = [...lines, `offered: ${offered.join(', ')}`].join('\n');
  return { blocks: [toolUse('finish', { report })], stopReason: 'tool_use' as const };
}

export function mcpScenario(task: string): Scenario | null {
  const steps = stepsOf(task);
  if (steps === null) return null;
  return {
    act: (context) =>
      typeof steps === 'string'
        ? { blocks: [toolUse('finish', { report: steps })], stopReason: 'tool_use' }
        : act(context, steps),
    summarize: () => DEFAULT_SUMMARY,
  };
}
