import { AgentState } from './state.js';

/**
 * The system prompt's layout: the model activity writes it and the simulator reads it back.
 * The state section holds an `AgentState` (and so its findings) as JSON.
 */
export { AgentState, Finding } from './state.js';

const TASK = /<task>\n([\s\S]*?)\n<\/task>/;
const STATE = /<agent_state>\n([\s\S]*?)\n<\/agent_state>/;

/**
 * The system prompt of every model call: the run's instructions, the task and the rendered state.
 * The task lives here rather than in the first user message because compaction summarizes and
 * drops messages, never the system prompt.
 */
export function renderSystemPrompt(systemPrompt: string, task: string, state: AgentState | null): string {
  const parts = [systemPrompt.trim(), `<task>\n${task.trim()}\n</task>`];
  if (state) {
    parts.push(
      'Your structured state follows. It is the exact record of your progress and survives context ' +
        'compaction; change it only with the update_state tool.',
      `<agent_state>\n${JSON.stringify(state)}\n</agent_state>`,
    );
  }
  return parts.join('\n\n');
}

/** Reads the sections `renderSystemPrompt` writes; without a <task> section the whole prompt is the task. */
export function readSystemPrompt(prompt: string): { task: string; instructions: string; state: AgentState | null } {
  const task = TASK.exec(prompt)?.[1] ?? prompt;
  const stateJson = STATE.exec(prompt)?.[1];
  const instructions = prompt.includes('<task>') ? prompt.slice(0, prompt.indexOf('<task>')).trim() : '';
  return { task: task.trim(), instructions, state: stateJson === undefined ? null : parseState(stateJson) };
}

function parseState(json: string): AgentState | null {
  try {
    const parsed = AgentState.safeParse(JSON.parse(json));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
