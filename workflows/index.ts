export { agentRun } from './agent.js';
export type { AgentRunInput } from './agent.js';
