export { agentRun } from './agent.js';
