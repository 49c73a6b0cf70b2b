import { AgentState } from './state.js';

/**
 * The prompt's layout: the model activity writes it and the simulator reads it back. The system
 * prompt holds the run's instructions and task, the same bytes on every call of a run; the state
 * section (an `AgentState`, and so its findings, as JSON) rides at the end of the newest user
 * message (activities/request-layout.ts), or in the system prompt for the 'system-state' control.
 */
export { AgentState, Finding } from './state.js';

const TASK = /<task>\n([\s\S]*?)\n<\/task>/;
const STATE = /<agent_state>\n([\s\S]*?)\n<\/agent_state>/;

/**
 * The system prompt of every model call: the run's instructions, the task and, only when asked
 * (the 'system-state' control), the rendered state. The task lives here rather than in the first
 * user message because compaction summarizes and drops messages, never the system prompt.
 */
export function renderSystemPrompt(systemPrompt: string, task: string, state: AgentState | null): string {
  const parts = [systemPrompt.trim(), `<task>\n${task.trim()}\n</task>`];
  if (state) parts.push(renderState(state));
  return parts.join('\n\n');
}

/** The state section: what the model reads as the exact record of its progress. */
export function renderState(state: AgentState): string {
  return (
    'Your structured state follows. It is the exact record of your progress and survives context ' +
    'compaction; change it only with the update_state tool.\n\n' +
    `<agent_state>\n${JSON.stringify(state)}\n</agent_state>`
  );
}

/** Reads the sections `renderSystemPrompt` writes; without a <task> section the whole prompt is the task. */
export function readSystemPrompt(prompt: string): { task: string; instructions: string; state: AgentState | null } {
  const task = TASK.exec(prompt)?.[1] ?? prompt;
  const instructions = prompt.includes('<task>') ? prompt.slice(0, prompt.indexOf('<task>')).trim() : '';
  return { task: task.trim(), instructions, state: readState(prompt) };
}

/** The state a text carries in its state section (`renderState`), if it has a readable one. */
export function readState(text: string): AgentState | null {
  const json = STATE.exec(text)?.[1];
  if (json === undefined) return null;
  try {
    const parsed = AgentState.safeParse(JSON.parse(json));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
