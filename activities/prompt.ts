import type { AgentState } from '../workflows/state.js';

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
