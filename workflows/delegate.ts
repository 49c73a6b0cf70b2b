import type { PendingBlock, ToolCall } from '../common/contracts.js';
import { toolResult } from './blocks.js';
import type { Run } from './run.js';

/** A delegate call: starts a child agentRun and waits for its report (common/delegation.ts). */
export async function runDelegate(_run: Run, call: ToolCall): Promise<PendingBlock> {
  // Placeholder of the contract commit, replaced by the delegation branch.
  return toolResult(call, 'delegate is not available yet', true);
}
