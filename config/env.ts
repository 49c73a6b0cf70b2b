import { z } from 'zod';
import { WriteProtectedEntry } from '../common/write-protected.js';

/**
 * Everything longhaul reads from the environment, in one schema: each variable is named once,
 * validated at start, and a bad value is reported on one line naming it.
 */
export const EnvConfig = z.object({
  TEMPORAL_ADDRESS: z.string().min(1).default('localhost:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  /** Temporal Cloud API key; implies TLS. */
  TEMPORAL_API_KEY: z.string().min(1).optional(),
  /** `true` for TLS with the system's roots (implied by a certificate or an API key). */
  TEMPORAL_TLS: z.enum(['true', 'false']).optional(),
  /** mTLS: client certificate and key (PEM files; both or neither), and a private CA if any. */
  TEMPORAL_TLS_CERT: z.string().min(1).optional(),
  TEMPORAL_TLS_KEY: z.string().min(1).optional(),
  TEMPORAL_TLS_CA: z.string().min(1).optional(),
  LONGHAUL_TASK_QUEUE: z.string().min(1).default('longhaul'),
  /** The transcript store and idempotency ledger: a directory on this machine by default… */
  LONGHAUL_STORE_DIR: z.string().min(1).default('.longhaul/store'),
  /** …or PostgreSQL, shared by workers on many machines. */
  LONGHAUL_STORE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\/\S+$/i, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  /** A pre-built workflow bundle; without it the worker bundles the workflow code at start. */
  LONGHAUL_WORKFLOW_BUNDLE: z.string().min(1).optional(),
  ANTHROPIC_API_KEY: z.string().min(1).optional(),
  /** Set to the simulator's URL for offline runs; unset talks to Anthropic. */
  ANTHROPIC_BASE_URL: z.string().url().optional(),
  /** Encryption keys, `id:base64,id:base64` (first = current); see config/codec.ts and docs/security.md. */
  LONGHAUL_ENCRYPTION_KEYS: z.string().min(1).optional(),
  /** …or a file holding the same. */
  LONGHAUL_ENCRYPTION_KEY_FILE: z.string().min(1).optional(),
  /**
   * Paths the file tools may not write, comma-separated, beside `.git` which always is: a name
   * (`secrets`, any component) or a path with `/` (`config/prod`, a prefix relative to the workspace).
   */
  LONGHAUL_WRITE_PROTECTED: z
    .string()
    .transform((list) => list.split(',').filter((entry) => entry.trim() !== ''))
    .pipe(WriteProtectedEntry.array())
    .optional(),
  LONGHAUL_MAX_CONCURRENT_ACTIVITIES: z.coerce.number().int().positive().default(100),
  LONGHAUL_MAX_CONCURRENT_WORKFLOW_TASKS: z.coerce.number().int().positive().default(100),
  /**
   * An OTLP/HTTP receiver (a collector's base URL, e.g. http://localhost:4318): the worker traces
   * runs to it (`/v1/traces` is appended). Unset, nothing is traced (README.md, "Tracing and logs").
   */
  OTEL_EXPORTER_OTLP_ENDPOINT: z
    .string()
    .url()
    .regex(/^https?:\/\//i, 'must be an http:// or https:// URL (OTLP over HTTP)')
    .optional(),
  /** The worker's log lines on stderr: one JSON object per line, or Temporal's plain text. */
  LONGHAUL_LOG_FORMAT: z.enum(['json', 'text']).default('json'),
  /** The least severe level the worker logs. */
  LONGHAUL_LOG_LEVEL: z.enum(['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR']).default('INFO'),
});
export type EnvConfig = z.infer<typeof EnvConfig>;

export class ConfigError extends Error {}

export function readEnv(env: NodeJS.ProcessEnv = process.env): EnvConfig {
  // Empty strings count as unset, as in most shells' `VAR= cmd`.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = EnvConfig.safeParse(present);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const name = String(issue.path[0]);
  throw new ConfigError(`${name}=${JSON.stringify(env[name] ?? '')}: ${issue.message}`);
}
