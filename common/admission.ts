/**
 * What a worker admits of a run's options, the part that needs no file system: tool policies
 * under their ceiling, and the webhook's destination on the worker's allow-list. The worker's
 * `admitRun` (activities/index.ts) adds the workspace check; `runTool` and `notifyEscalation`
 * check again at use, so a run that skipped admission reaches no more.
 */
import { isStateTool } from './state-tools.js';
import {
  DelegationOptions,
  isWiderPolicy,
  parseRunOptions,
  policyIn,
  stricterPolicy,
  withAgentDefaults,
  type AgentDefaults,
  type RunOptionsInput,
  type ToolPolicy,
} from './options.js';

/** What the worker knows of a run: its agent, the policies of runs without one, its tools, the webhook allow-list. */
export interface AdmissionSite {
  /** The run's agent profile, when it names one: its policies are the run's ceiling. */
  agent?: { name: string; defaults: AgentDefaults };
  /** The ceiling of runs that name no agent (worker option `toolPolicies`, LONGHAUL_TOOL_POLICIES). */
  workerPolicies: Readonly<Record<string, ToolPolicy>>;
  /** The tools' own policies (the toolset's defaultPolicies), for tools the agent or worker does not name. */
  toolDefaults?: Readonly<Record<string, ToolPolicy>>;
  /** The tools the run may call (its toolset's, without the state tools): each gets an explicit policy. */
  tools: readonly string[];
  /** Origins escalation webhooks may go to (`originOf` normalized). */
  webhookAllow: readonly string[];
  /** The agent profiles this worker serves, which a run may delegate to; absent: not checked. */
  served?: readonly string[];
}

/**
 * How a run is admitted. A sub-agent's options are its parent's (common/delegation.ts
 * childOptions), which its own agent may allow less of: its tool policies and delegation are
 * narrowed to its agent's rather than refused, since no person wrote them and the parent cannot
 * know every child agent's profile; and it never gets its agent's delegation when its parent gave
 * it none (the last level).
 */
export interface Admission {
  child?: boolean;
  /**
   * A child's parent's workspace (its real path): the child's, resolved through the roots and
   * its links, must be it or inside it (the worker's admitRun checks, where the file system is).
   */
  within?: string;
}

/**
 * The most permissive policy a run may have for each tool: its agent's, else the worker's; for a
 * tool neither names, the tool's own (then policyIn's built-in defaults).
 */
export const ceilingOf = (
  site: Pick<AdmissionSite, 'agent' | 'workerPolicies' | 'toolDefaults'>,
): Readonly<Record<string, ToolPolicy>> => ({
  ...site.toolDefaults,
  ...(site.agent ? site.agent.defaults.toolPolicies : site.workerPolicies),
});

/** Who set a ceiling, for errors. */
const ownerOf = (site: Pick<AdmissionSite, 'agent'>) => (site.agent ? `agent ${site.agent.name}` : 'this worker');

/**
 * The normalized origin (`https://host[:port]`) of an allow-list entry, or undefined if the entry
 * is not exactly an http(s) origin (no path, query, fragment or credentials).
 */
export function originOf(entry: string): string | undefined {
  let url: URL;
  try {
    url = new URL(entry);
  } catch {
    return undefined;
  }
  const bare = url.pathname === '/' && !url.search && !url.hash && !url.username && !url.password;
  return bare && (url.protocol === 'https:' || url.protocol === 'http:') ? url.origin : undefined;
}

/** Why a webhook URL may not be posted to from this worker, or undefined when it may. Names the origin only: a hook's path often holds its secret. */
export function webhookProblem(url: string, allow: readonly string[]): string | undefined {
  let origin: string;
  try {
    origin = new URL(url).origin;
  } catch {
    return 'is not a URL';
  }
  return allow.includes(origin)
    ? undefined
    : `goes to ${origin}, which is not on this worker's webhook allow-list (LONGHAUL_WEBHOOK_ALLOW)`;
}

/**
 * The run's options as the worker will run them: the agent's defaults merged, every tool's policy
 * explicit (the run's where it narrows, else the ceiling), or a one-line reason to refuse the run.
 */
export function admitOptions(
  submitted: RunOptionsInput,
  site: AdmissionSite,
  { child = false }: Admission = {},
): { ok: true; options: RunOptionsInput } | { ok: false; error: string } {
  const ceiling = ceilingOf(site);
  const options = child
    ? { ...submitted, toolPolicies: underCeiling(submitted.toolPolicies ?? {}, ceiling) }
    : submitted;
  const parsed = parseRunOptions(options);
  if (!parsed.ok) return parsed;
  for (const [tool, policy] of Object.entries(parsed.options.toolPolicies)) {
    const most = policyIn(ceiling, tool);
    if (isWiderPolicy(policy, most)) {
      return {
        ok: false,
        error: `toolPolicies.${tool}: ${policy} is wider than ${ownerOf(site)} allows (${most}); a run may narrow its tool policies, never widen them`,
      };
    }
  }
  const merged = site.agent ? withAgentDefaults(site.agent.defaults, options) : options;
  const own = merged.toolPolicies ?? {};
  const tools = new Set([...site.tools, ...Object.keys(ceiling), ...Object.keys(own)].filter((t) => !isStateTool(t)));
  const toolPolicies = Object.fromEntries([...tools].map((t) => [t, own[t] ?? policyIn(ceiling, t)]));
  // An agent's own webhook too: notifyEscalation posts only to the allow-list, whoever named the URL.
  const url = merged.escalation?.webhookUrl;
  const hook = url === undefined ? undefined : webhookProblem(url, site.webhookAllow);
  if (hook) return { ok: false, error: `escalation.webhookUrl ${hook}` };
  const delegation = child ? narrowedDelegation(parsed.options.delegation, site) : admitDelegation(options, site);
  if (delegation && 'error' in delegation) return { ok: false, error: delegation.error };
  const { delegation: _, ...rest } = merged;
  return { ok: true, options: { ...rest, toolPolicies, ...(delegation ? { delegation } : {}) } };
}

/** Each policy, or its ceiling's where that is stricter. */
const underCeiling = (
  policies: Readonly<Record<string, ToolPolicy>>,
  ceiling: Readonly<Record<string, ToolPolicy>>,
): Record<string, ToolPolicy> =>
  Object.fromEntries(Object.entries(policies).map(([t, p]) => [t, stricterPolicy(p, policyIn(ceiling, t))]));

/** The agent profile's delegation, parsed; undefined when it allows none. */
const allowedDelegation = (site: AdmissionSite): DelegationOptions | undefined => {
  const profile = site.agent?.defaults.delegation;
  return profile === undefined ? undefined : DelegationOptions.parse(profile);
};

const LIMITS = ['maxDepth', 'maxAtOnce', 'maxChildren', 'maxBudgetShare'] as const;

/**
 * A run's delegation: its agent's where the run sets none; the run's own (unset fields the agent's)
 * only within the agent's (agents a subset, numbers no larger); every agent one this worker serves.
 */
function admitDelegation(
  options: RunOptionsInput,
  site: AdmissionSite,
): DelegationOptions | undefined | { error: string } {
  const allowed = allowedDelegation(site);
  const asked = options.delegation;
  if (asked !== undefined && !allowed)
    return {
      error: site.agent
        ? `delegation: agent ${site.agent.name} allows no delegation`
        : 'delegation: only a run whose agent profile allows delegation may delegate, and this run names no agent',
    };
  if (!allowed) return undefined;
  const delegation = DelegationOptions.parse({ ...allowed, ...asked });
  const owner = ownerOf(site);
  const foreign = delegation.agents.find((a) => !allowed.agents.includes(a));
  if (foreign)
    return { error: `delegation.agents: ${owner} may not delegate to ${foreign} (only ${allowed.agents.join(', ')})` };
  for (const limit of LIMITS)
    if (delegation[limit] > allowed[limit])
      return { error: `delegation.${limit}: ${delegation[limit]} is more than ${owner} allows (${allowed[limit]})` };
  const unserved = site.served && delegation.agents.find((a) => !site.served!.includes(a));
  if (unserved) return { error: `delegation.agents: this worker serves no agent ${unserved}` };
  return delegation;
}

/** A child's delegation (its parent's, one level down) within its agent's and the served agents; none if nothing is left. */
function narrowedDelegation(asked: DelegationOptions | undefined, site: AdmissionSite): DelegationOptions | undefined {
  const allowed = allowedDelegation(site);
  if (!asked || !allowed) return undefined;
  const agents = asked.agents.filter((a) => allowed.agents.includes(a) && (!site.served || site.served.includes(a)));
  if (!agents.length) return undefined;
  return {
    agents,
    maxDepth: Math.min(asked.maxDepth, allowed.maxDepth),
    maxAtOnce: Math.min(asked.maxAtOnce, allowed.maxAtOnce),
    maxChildren: Math.min(asked.maxChildren, allowed.maxChildren),
    maxBudgetShare: Math.min(asked.maxBudgetShare, allowed.maxBudgetShare),
  };
}
