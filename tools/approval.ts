/**
 * A tool's own say on whether a call waits for a person (needsApproval) and what the person is
 * shown (approvalDetail), asked on the worker: when the model makes the call (activities/model.ts)
 * and again before it runs (activities/index.ts). Neither answer can fail a model call or let a
 * call through by failing: a throw, a hang or an input the tool's schema refuses means "ask a
 * person", with no detail.
 */
import { approvalDetailText } from '../common/call-display.js';
import type { ToolCall } from '../common/contracts.js';
import type { ApprovalContext, ToolDefinition } from './define.js';

/** How long a tool's needsApproval or approvalDetail may take before it counts as not answering. */
export const APPROVAL_ANSWER_MS = 10_000;

/** `f`'s answer, or undefined when it throws or takes longer than APPROVAL_ANSWER_MS. */
async function answerOf<T>(f: () => T | Promise<T>): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), APPROVAL_ANSWER_MS)));
  try {
    return await Promise.race([Promise.resolve().then(f), late]);
  } catch {
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}

/** The input as the tool takes it, or undefined when its schema refuses it (the call then fails as a tool error). */
function parsedInput(tool: ToolDefinition, input: unknown): { data: unknown } | undefined {
  const parsed = tool.input.safeParse(input);
  return parsed.success ? { data: parsed.data } : undefined;
}

async function waived(tool: ToolDefinition, data: unknown, ctx: ApprovalContext): Promise<boolean> {
  const { needsApproval } = tool;
  return needsApproval !== undefined && (await answerOf(() => needsApproval(data, ctx))) === false;
}

/** Whether the tool says this call needs no person: its needsApproval returned false for the input. */
export async function approvalWaived(tool: ToolDefinition, input: unknown, ctx: ApprovalContext): Promise<boolean> {
  const parsed = parsedInput(tool, input);
  return parsed !== undefined && (await waived(tool, parsed.data, ctx));
}

/**
 * The approval fields of a call (common/contracts.ts ToolCall): `needsApproval: false` when the
 * tool waives it; otherwise the detail a person will be shown if the call is held, when the tool
 * gives one.
 */
export async function approvalFields(
  tool: ToolDefinition,
  input: unknown,
  ctx: ApprovalContext,
): Promise<Pick<ToolCall, 'needsApproval' | 'approvalDetail'>> {
  if (!tool.needsApproval && !tool.approvalDetail) return {};
  const parsed = parsedInput(tool, input);
  if (!parsed) return {};
  if (await waived(tool, parsed.data, ctx)) return { needsApproval: false };
  const { approvalDetail } = tool;
  const detail = approvalDetail && (await answerOf(() => approvalDetail(parsed.data, ctx)));
  return typeof detail === 'string' && detail !== '' ? { approvalDetail: approvalDetailText(detail) } : {};
}
