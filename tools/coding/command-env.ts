/**
 * The environment run_command's commands get: only what a shell needs, never the worker's secrets
 * (its model API key, encryption keys, Temporal API key, database URL). An allow-list, so that a
 * secret under a name nobody thought of stays out too.
 */

/** Variables passed through from the worker's environment. */
const PASSED = new Set(['PATH', 'HOME', 'LANG', 'TERM', 'TZ', 'USER', 'SHELL', 'TMPDIR']);
/** Dropped even when passed (a `LC_` variable named like a credential, say). */
const SECRET_LIKE = /KEY|SECRET|TOKEN|PASSWORD|CREDENTIAL/i;

const passed = (name: string) => (PASSED.has(name) || name.startsWith('LC_')) && !SECRET_LIKE.test(name);

/**
 * The worker's environment narrowed to harmless variables, then the operator's own `extra`
 * (CodingToolOptions.commandEnv), which is taken as given: it is the operator's explicit choice.
 */
export function commandEnv(
  worker: NodeJS.ProcessEnv,
  extra: Readonly<Record<string, string>> = {},
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(worker)) if (value !== undefined && passed(name)) env[name] = value;
  return { ...env, ...extra };
}
