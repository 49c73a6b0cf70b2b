import { z } from 'zod';
import { originOf } from '../common/admission.js';
import { ConfigError } from '../common/errors.js';
import { ToolPolicy } from '../common/options.js';

export { ConfigError };

const listOf = (separator: RegExp) => (value: string) =>
  value
    .split(separator)
    .map((s) => s.trim())
    .filter(Boolean);

/** `write_file=allow,run_command=deny`: a policy per tool. */
const toolPolicyList = z
  .string()
  .transform((value, ctx) => {
    const entries = listOf(/,/)(value).map((entry) => /^([\w.-]+)=(\w+)$/.exec(entry) ?? entry);
    const bad = entries.find((e) => typeof e === 'string');
    if (bad !== undefined) {
      ctx.addIssue({ code: 'custom', message: `expected TOOL=allow|approve|deny, got ${JSON.stringify(bad)}` });
      return z.NEVER;
    }
    return Object.fromEntries(entries.map((m) => [(m as RegExpExecArray)[1]!, (m as RegExpExecArray)[2]!]));
  })
  .pipe(z.record(z.string(), ToolPolicy));
import { WriteProtectedEntry } from '../common/write-protected.js';
import { CommandAllowEntry } from '../common/command-allow.js';

/** Shorter codec server tokens are guessable (one it makes itself is 43 characters). */
export const MIN_CODEC_TOKEN_CHARS = 16;

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
  /** The credential `longhaul codec-server` requires (made and printed at start when unset). */
  LONGHAUL_CODEC_TOKEN: z
    .string()
    .min(MIN_CODEC_TOKEN_CHARS, `must be at least ${MIN_CODEC_TOKEN_CHARS} characters`)
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
  /**
   * The directories runs may work in, absolute, separated by `:` or `,`; the worker's current
   * directory when unset. A client with it set checks a run's workspace before submitting.
   */
  LONGHAUL_WORKSPACE_ROOTS: z
    .string()
    .transform(listOf(/[:,]/))
    .pipe(z.array(z.string().startsWith('/', 'each root must be an absolute path')).min(1, 'names no directory'))
    .optional(),
  /** The most permissive tool policies of runs that name no agent, `write_file=allow,x=deny`; runs may only narrow them. */
  LONGHAUL_TOOL_POLICIES: toolPolicyList.optional(),
  /** Origins escalation webhooks may go to, comma-separated (`https://hooks.example.com`); none when unset. */
  LONGHAUL_WEBHOOK_ALLOW: z
    .string()
    .transform(listOf(/,/))
    .pipe(
      z.array(
        z
          .string()
          .refine((o) => originOf(o) !== undefined, 'each entry must be an origin such as https://hooks.example.com'),
      ),
    )
    .optional(),
  /**
   * The toolsets of runs that name no agent, comma-separated: `workspace` (list_files, read_file,
   * write_file; the default) and `coding` (edit_file, glob, grep, run_command: tools/coding/).
   */
  LONGHAUL_TOOLS: z
    .string()
    .transform(listOf(/,/))
    .pipe(z.array(z.enum(['workspace', 'coding'])).min(1, 'names no toolset'))
    .optional(),
  /** Command prefixes run_command runs without a person's approval, comma-separated (`npm test,git diff`). */
  LONGHAUL_COMMAND_ALLOW: z.string().transform(listOf(/,/)).pipe(z.array(CommandAllowEntry)).optional(),
  /** run_command's sandbox: bubblewrap where it runs (`auto`, the default), always (`bwrap`), or none (`off`). */
  LONGHAUL_SANDBOX: z.enum(['auto', 'bwrap', 'off']).optional(),
  /**
   * Prices over the model table's list prices: JSON `{"<model id>": {"inputPerMTok": 3, "outputPerMTok": 15,
   * "cacheWrite5mPerMTok": 3.75, "cacheWrite1hPerMTok": 6, "cacheReadPerMTok": 0.3}}` (dollars per
   * million tokens), inline or the path of a file holding it (config/prices.ts).
   */
  LONGHAUL_PRICES: z.string().min(1).optional(),
  /**
   * MCP servers whose tools runs without an agent may call: JSON `{"<name>": {"command": "…",
   * "args": […], "env": {…}} | {"url": "http://…", "headers": {…}}}`, inline or the path of a file
   * holding it (tools/mcp/config.ts). `${VAR}` in env and header values is read from the worker's environment.
   */
  LONGHAUL_MCP_SERVERS: z.string().min(1).optional(),
  /** The least severe level the worker logs. */
  LONGHAUL_LOG_LEVEL: z.enum(['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR']).default('INFO'),
});
export type EnvConfig = z.infer<typeof EnvConfig>;

export function readEnv(env: NodeJS.ProcessEnv = process.env): EnvConfig {
  // Empty strings count as unset, as in most shells' `VAR= cmd`.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = EnvConfig.safeParse(present);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const name = String(issue.path[0]);
  throw new ConfigError(`${nameAndValue(name, env[name] ?? '')}: ${issue.message}`);
}

/** Settings whose whole value is a secret: API keys, encryption keys, tokens, passwords. */
const SECRET_NAME = /(^|_)(KEY|KEYS|TOKEN|PASSWORD|SECRET)$/;

/**
 * A setting as an error may show it: `NAME="value"`, but never a secret. A secret's value is not
 * shown at all; a URL's is shown without its user information and query (where a database URL
 * carries its password), so the host and path a typo is usually in still show.
 */
export function nameAndValue(name: string, value: string): string {
  if (SECRET_NAME.test(name)) return `${name} (value not shown: a secret)`;
  if (name.endsWith('_URL') && /[@?]/.test(value)) {
    const shown = value.replace(
      /^(?:([a-z][a-z0-9+.-]*:)\/\/)?.*@/is,
      (_, scheme: string | undefined) => `${scheme ? `${scheme}//` : ''}…@`,
    );
    return `${name}=${JSON.stringify(shown.replace(/\?.*$/s, '?…'))} (credentials not shown)`;
  }
  return `${name}=${JSON.stringify(value)}`;
}
