import type { ToolContext, ToolDefinition, ToolOutput } from '../tools/define.js';
import { describeZodError } from '../common/options.js';
import type { BlobStore } from '../store/blob-store.js';
import type { ToolRunInput } from '../common/contracts.js';
import { WorkspacePathError } from '../tools/workspace-path.js';
import { doneRecord, intentRecord, ledgerKey, readRecord, uncertainEffect } from './ledger.js';

/**
 * Runs one tool call. Every failure the model could act on (unknown tool, schema violation, path
 * escape, the tool's own error) comes back as a tool error for the model, never as an activity
 * failure; only infrastructure faults (the store) throw and are retried by Temporal.
 *
 * A side-effecting call acts at most once: its intent is recorded before it acts (if that fails,
 * it does not act) and its result after. A retry that finds the result returns it; one that finds
 * only the intent never acts again: the tool's `checkEffect` tells what happened, or the model is
 * told the effect is uncertain.
 */
export async function runToolCall(
  tools: ReadonlyMap<string, ToolDefinition>,
  store: BlobStore,
  input: ToolRunInput,
  writeProtected?: readonly string[],
  /** The activity's cancellation (Context.current().cancellationSignal), handed to the tool. */
  signal?: AbortSignal,
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
  const key = ledgerKey(input);
  const ctx: ToolContext = {
    workspace: input.workspace,
    idempotencyKey: key,
    ...(writeProtected ? { writeProtected } : {}),
    ...(signal ? { signal } : {}),
  };
  if (def.sideEffectFree) return act(def, parsed.data, ctx);

  if (!(await store.createRecord(key, intentRecord(def.name)))) {
    const recorded = await store.getRecord(key);
    const found = recorded === undefined ? { state: 'intent' as const } : readRecord(key, recorded);
    if (found.state === 'done') return found.output;
    const output = await checkEarlierAttempt(def, parsed.data, ctx);
    await store.putRecord(key, doneRecord(output));
    return output;
  }
  const output = await act(def, parsed.data, ctx);
  await store.journal(`${key} ${def.name}${output.isError ? ' (error)' : ''}`);
  await store.putRecord(key, doneRecord(output));
  return output;
}

async function act(def: ToolDefinition, input: unknown, ctx: ToolContext): Promise<ToolOutput> {
  try {
    return await def.run(input, ctx);
  } catch (err) {
    const reason = err instanceof WorkspacePathError ? err.message : `${def.name} failed: ${(err as Error).message}`;
    return { content: reason, isError: true };
  }
}

/** An earlier attempt recorded its intent and may have acted: the tool's own check, or "uncertain". */
async function checkEarlierAttempt(def: ToolDefinition, input: unknown, ctx: ToolContext): Promise<ToolOutput> {
  let checked: ToolOutput | undefined;
  try {
    checked = await def.checkEffect?.(input, ctx);
  } catch {
    // A check that cannot look cannot tell.
  }
  return checked ?? { content: uncertainEffect(def.name), isError: true };
}
