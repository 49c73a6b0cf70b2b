import type { NativeConnection } from '@temporalio/worker';
import proto from '@temporalio/proto';
import { SEARCH_ATTRIBUTES } from '../common/search-attributes.js';

// @temporalio/proto is CommonJS: Node's ESM loader sees only its default export.
const { temporal } = proto;
const INDEXED_TYPE = {
  KEYWORD: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  INT: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_INT,
} as const;

/**
 * Registers longhaul's search attributes in the namespace if they are missing: a workflow that
 * upserts an unregistered attribute fails its task, so the worker makes sure before it polls.
 * Where the connection may not change the namespace (e.g. Temporal Cloud API keys), the error
 * says which attributes an operator must add.
 */
export async function ensureSearchAttributes(connection: NativeConnection, namespace: string): Promise<void> {
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const known = { ...existing.customAttributes, ...existing.systemAttributes };
  const missing = SEARCH_ATTRIBUTES.filter((key) => !(key.name in known));
  if (missing.length === 0) return;
  try {
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(
        missing.map((key) => [key.name, INDEXED_TYPE[key.type as keyof typeof INDEXED_TYPE]]),
      ),
    });
  } catch (err) {
    const wanted = missing.map((k) => `${k.name}=${k.type}`).join(', ');
    throw new Error(
      `cannot register search attributes ${wanted} in namespace ${namespace} (${(err as Error).message}); add them as an operator`,
      { cause: err },
    );
  }
}
