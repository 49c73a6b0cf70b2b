import { auditScenario } from './audit.js';
import { codingScenario } from './coding.js';
import { mcpScenario } from './mcp.js';
import { parallelScenario } from './parallel.js';
import { probeScenario } from './probes.js';
import { wideAuditScenario } from './wide-audit.js';
import { DEFAULT_SUMMARY, text, toolUse, type Scenario } from './scenario.js';

/** `Reply with: X` finishes at once with report X: the smallest run that still goes through tools. */
function finishScenario(task: string): Scenario | null {
  const report = /^\s*Reply with: (.+)$/m.exec(task)?.[1];
  if (report === undefined) return null;
  return {
    act: () => ({ blocks: [toolUse('finish', { report })], stopReason: 'tool_use' }),
    summarize: () => DEFAULT_SUMMARY,
  };
}

/** Any other task: the model gives up in plain text, which a client has to notice on its own. */
const unknownTask: Scenario = {
  act: () => ({ blocks: [text('I do not know how to do this task.')], stopReason: 'end_turn' }),
  summarize: () => DEFAULT_SUMMARY,
};

export function selectScenario(task: string): Scenario {
  return (
    auditScenario(task) ??
    wideAuditScenario(task) ??
    codingScenario(task) ??
    probeScenario(task) ??
    mcpScenario(task) ??
    parallelScenario(task) ??
    finishScenario(task) ??
    unknownTask
  );
}
