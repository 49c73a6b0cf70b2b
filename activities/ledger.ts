import { ApplicationFailure } from '@temporalio/common';
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { ToolRunInput } from '../common/contracts.js';
import type { ToolOutput } from '../tools/define.js';

/**
 * The idempotency ledger's keys and records, as pure functions. A side-effecting call records
 * its intent before it acts and its result after (activities/run-tool.ts); a retry reads which
 * of the two it finds.
 */

const ToolOutputRecord = z
  .object({ content: z.string(), isError: z.boolean().optional() })
  .transform(({ content, isError }): ToolOutput => ({ content, ...(isError ? { isError } : {}) }));

const LedgerRecord = z.union([
  z.object({ state: z.literal('intent'), tool: z.string() }),
  z.object({ state: z.literal('done'), output: ToolOutputRecord }),
]);
export type LedgerRecord = z.input<typeof LedgerRecord>;

/** What a retry finds: an intent whose attempt may or may not have acted, or the recorded result. */
export type LedgerState = { state: 'intent' } | { state: 'done'; output: ToolOutput };

/** JSON with each object's keys sorted: the same input in another key order is the same call. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v)).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** The call's name and input, hashed: which call a (turn, position) slot held. */
export const callDigest = (call: { name: string; input: unknown }): string =>
  createHash('sha256')
    .update(canonicalJson([call.name, call.input]))
    .digest('hex')
    .slice(0, 16);

/**
 * `workflowId/chainId/turn/position/digest`: the chain's first run id (kept across continue-as-new
 * and reset, new for a new run under a reused workflow id), the turn, the call's index among its
 * reply's calls (two calls with the same tool_use id are two calls), and its name and input (after
 * a reset, the same call in the same slot finds its result; a different call acts). The
 * tool_use id is left out: the model gives a call a new one when it is asked again after a reset.
 * Inputs without a chain id or position were scheduled before keys had them: their old key.
 */
export function ledgerKey(input: ToolRunInput): string {
  const { workflowId, turn, chainId, position, call } = input;
  if (chainId === undefined || position === undefined) return `${workflowId}/${turn}/${call.id}`;
  return `${workflowId}/${chainId}/${turn}/${position}/${callDigest(call)}`;
}

export const intentRecord = (tool: string): string => JSON.stringify({ state: 'intent', tool } satisfies LedgerRecord);
export const doneRecord = (output: ToolOutput): string =>
  JSON.stringify({
    state: 'done',
    output: { content: output.content, ...(output.isError ? { isError: true } : {}) },
  } satisfies LedgerRecord);

/**
 * Reads a record. Records written before intents were recorded hold the result itself. A value
 * that is neither fails for good, naming the key: the call then reaches the model as one that
 * may or may not have run, never as one to run again.
 */
export function readRecord(key: string, value: string): LedgerState {
  let json: unknown;
  try {
    json = JSON.parse(value);
  } catch {
    json = undefined;
  }
  const record = LedgerRecord.safeParse(json);
  if (record.success) return record.data.state === 'intent' ? { state: 'intent' } : record.data;
  const legacy = ToolOutputRecord.safeParse(json);
  if (legacy.success) return { state: 'done', output: legacy.data };
  throw ApplicationFailure.create({
    type: 'LedgerRecordUnreadable',
    message: `the idempotency ledger's record ${key} is not one longhaul wrote`,
    nonRetryable: true,
  });
}

/** What the model is told of a call whose earlier attempt may have acted and whose result is unknown. */
export const uncertainEffect = (tool: string): string =>
  `${tool} may or may not have taken effect: an earlier attempt of this call was interrupted before its result ` +
  'was recorded. Check whether the effect is in place before calling it again.';
