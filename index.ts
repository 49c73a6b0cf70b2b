/**
 * longhaul as a library: define tools and agent profiles, run them in a longhaul worker or add
 * longhaul to your own worker (LonghaulPlugin), submit runs. The workflow is longhaul's own; your
 * tools run only in activities on your worker, so nothing of them enters the workflow bundle.
 */
export {
  APPROVAL_DETAIL_CHARS,
  defineTool,
  type ApprovalContext,
  type ToolContext,
  type ToolDefinition,
  type ToolOutput,
} from './tools/define.js';
export { defineAgent, type AgentDefinition } from './agents/define.js';
export type { McpServerConfig, McpServers } from './tools/mcp/config.js';
export {
  createPlugin,
  createWorker,
  type CreateWorkerOptions,
  type LonghaulPluginFromEnv,
  type LonghaulWorker,
} from './worker/from-env.js';
export { LonghaulPlugin, type LonghaulPluginOptions } from './worker/plugin.js';
export { connectClient, newRunId, RunOptionsError, startRun } from './client/connect.js';
export { workspaceTools } from './tools/workspace-tools.js';
export { codingTools, type CodingToolOptions } from './tools/coding/index.js';
export {
  withWorkspaceDir,
  withWorkspaceFile,
  WorkspaceEscapeError,
  WorkspacePathError,
  writeWorkspaceFile,
} from './tools/workspace-path.js';
export { escalationQuery, humanResponseSignal, progressQuery, respondUpdate, stateQuery } from './common/messages.js';
export type { Progress, RunResult } from './common/messages.js';
export type { AgentDefaults, RunOptionsInput } from './common/options.js';
