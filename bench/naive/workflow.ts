import type Anthropic from '@anthropic-ai/sdk';
import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import { applyStateUpdate, initialState, summarizeState } from '../../common/state.js';
import { stateTools } from '../../common/state-tools.js';
import type { NaiveActivities } from './activities.js';

type MessageParam = Anthropic.Beta.Messages.BetaMessageParam;
type ToolUseBlockParam = Anthropic.Beta.Messages.BetaToolUseBlockParam;
type ToolResultBlockParam = Anthropic.Beta.Messages.BetaToolResultBlockParam;

const { callModelInline, runToolInline } = proxyActivities<NaiveActivities>({
  startToCloseTimeout: '10 minutes',
  retry: { maximumAttempts: 3 },
});

export interface NaiveRunInput {
  task: string;
  workspace: string;
  model: string;
  maxTurns: number;
  maxOutputTokens: number;
  systemPrompt: string;
}

export interface NaiveRunResult {
  status: 'completed' | 'stopped';
  turns: number;
  reason?: string;
  report?: string;
}

const BEGIN = 'Begin the task described in the system prompt.';

/**
 * The design longhaul avoids, kept minimal: the conversation lives in workflow memory and travels
 * whole, tool results included, in every model-call activity input, so every turn writes the full
 * context into Temporal's history once more. Same loop shape as agentRun: model call, tools, next turn.
 */
export async function naiveAuditRun(input: NaiveRunInput): Promise<NaiveRunResult> {
  const { workflowId } = workflowInfo();
  let state = initialState();
  let report: string | undefined;
  const messages: MessageParam[] = [{ role: 'user', content: [{ type: 'text', text: BEGIN }] }];

  const runCall = async (turn: number, call: ToolUseBlockParam): Promise<ToolResultBlockParam> => {
    const result = (content: string, isError = false): ToolResultBlockParam => ({
      type: 'tool_result',
      tool_use_id: call.id,
      content,
      ...(isError ? { is_error: true } : {}),
    });
    switch (call.name) {
      case 'update_state': {
        const update = stateTools.update_state.input.safeParse(call.input);
        if (!update.success) return result('invalid update_state input', true);
        state = applyStateUpdate(state, update.data);
        return result(`state updated: ${summarizeState(state)}`);
      }
      case 'finish': {
        const finish = stateTools.finish.input.safeParse(call.input);
        if (!finish.success) return result('invalid finish input', true);
        report = finish.data.report;
        return result('run finished');
      }
      default: {
        const out = await runToolInline({
          workflowId,
          turn,
          workspace: input.workspace,
          call: { id: call.id, name: call.name, input: call.input },
        });
        return result(out.content, out.isError);
      }
    }
  };

  for (let turn = 1; turn <= input.maxTurns; turn++) {
    const reply = await callModelInline({
      model: input.model,
      maxOutputTokens: input.maxOutputTokens,
      systemPrompt: input.systemPrompt,
      task: input.task,
      state,
      messages,
    });
    messages.push({ role: 'assistant', content: reply.content });
    const calls = reply.content.filter((b): b is ToolUseBlockParam => b.type === 'tool_use');
    if (calls.length === 0) return { status: 'stopped', turns: turn, reason: 'the model replied without a tool call' };
    const results: ToolResultBlockParam[] = [];
    for (const call of calls) results.push(await runCall(turn, call));
    messages.push({ role: 'user', content: results });
    if (report !== undefined) return { status: 'completed', turns: turn, report };
  }
  return { status: 'stopped', turns: input.maxTurns, reason: `turn cap of ${input.maxTurns} reached` };
}
