import type { ToolDefinition, ToolOutput } from '../tools/define.js';
import { describeZodError } from '../common/options.js';
import type { BlobStore } from '../store/blob-store.js';
import type { ToolRunInput } from '../common/contracts.js';
import { WorkspacePathError } from '../tools/workspace-path.js';

/**
 * Runs one tool call. Every failure the model could act on (unknown tool, schema violation, path
 * escape, the tool's own error) comes back as a tool error for the model, never as an activity
 * failure; only infrastructure faults (the store) throw and are retried by Temporal.
 */
export async function runToolCall(
  tools: ReadonlyMap<string, ToolDefinition>,
  store: BlobStore,
  input: ToolRunInput,
  writeProtected?: readonly string[],
): Promise<ToolOutput> {
  const def = tools.get(input.call.name);
  if (!def) {
    return {
      content: `unknown tool ${JSON.stringify(input.call.name)}; available: ${[...tools.keys()].join(', ')}`,
      isError: true,
    };
  }
  const parsed = def.input.safeParse(input.call.input);
  if (!parsed.success) {
    return { content: `invalid input for ${def.name}: ${describeZodError(parsed.error)}`, isError: true };
  }
  const idempotencyKey = `${input.workflowId}/${input.turn}/${input.call.id}`;
  if (!def.sideEffectFree) {
    const recorded = await store.getRecord(idempotencyKey);
    if (recorded !== undefined) return JSON.parse(recorded) as ToolOutput;
  }
  let output: ToolOutput;
  try {
    output = await def.run(parsed.data, {
      workspace: input.workspace,
      idempotencyKey,
      ...(writeProtected ? { writeProtected } : {}),
    });
  } catch (err) {
    const reason = err instanceof WorkspacePathError ? err.message : `${def.name} failed: ${(err as Error).message}`;
    output = { content: reason, isError: true };
  }
  if (!def.sideEffectFree) {
    // Recorded before reporting: a retry after this point finds the record and does not act again.
    await store.journal(`${idempotencyKey} ${def.name}${output.isError ? ' (error)' : ''}`);
    await store.putRecord(idempotencyKey, JSON.stringify(output));
  }
  return output;
}
