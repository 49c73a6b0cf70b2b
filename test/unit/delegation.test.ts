import Anthropic from '@anthropic-ai/sdk';
import { describe, expect, it } from 'vitest';
import { createActivities } from '../../activities/index.js';
import { defineAgent } from '../../agents/define.js';
import { DirectoryStore } from '../../store/directory-store.js';
import { admitOptions, type AdmissionSite } from '../../common/admission.js';
import { addCounters, initialCounters, type Counters } from '../../common/counters.js';
import {
  childEndText,
  childOptions,
  joinWorkspace,
  remainingBudget,
  totalsOf,
  type ChildRecord,
} from '../../common/delegation.js';
import { buildProgress } from '../../common/progress.js';
import { capReached } from '../../workflows/next-step.js';
import { checkToolset } from '../../tools/toolset.js';
import { delegateSchema } from '../../tools/toolset.js';
import { memoryWith, optionsWith } from './fixtures.js';

const delegation = { agents: ['reader', 'writer'], maxDepth: 2, maxChildren: 3, maxBudgetShare: 0.5 };
const parent = optionsWith({
  workspace: '/ws/project',
  delegation,
  tokenBudget: 10_000,
  budgetUsd: 2,
  toolPolicies: { write_file: 'approve' },
  maxParallelToolCalls: 4,
  heartbeatTimeoutMs: 2_000,
});
const spent = (over: Partial<Counters>): Counters => ({ ...initialCounters(), ...over });
const child = (over: Partial<ChildRecord>): ChildRecord => ({
  workflowId: 'p.sub-1',
  toolUseId: 'toolu_1',
  agent: 'reader',
  task: 'read',
  status: 'completed',
  startedAt: '',
  counters: initialCounters(),
  ...over,
});
const fresh = memoryWith({}, parent);

describe('joinWorkspace: a subdirectory of the parent workspace, never outside it', () => {
  it('joins relative segments, drops `.` and one trailing slash', () => {
    expect(joinWorkspace('/ws/p', 'src/lib')).toEqual({ ok: true, workspace: '/ws/p/src/lib' });
    expect(joinWorkspace('/ws/p/', './src/')).toEqual({ ok: true, workspace: '/ws/p/src' });
    expect(joinWorkspace('/ws/p', '.')).toEqual({ ok: true, workspace: '/ws/p' });
    expect(joinWorkspace('/ws/p', undefined)).toEqual({ ok: true, workspace: '/ws/p' });
  });

  it('refuses absolute paths, `..` and empty segments, each in one line', () => {
    expect(joinWorkspace('/ws/p', '/etc')).toMatchObject({ ok: false, error: expect.stringContaining('absolute') });
    expect(joinWorkspace('/ws/p', 'a/../../x')).toMatchObject({ ok: false, error: expect.stringContaining('..') });
    expect(joinWorkspace('/ws/p', 'a//b')).toMatchObject({ ok: false, error: expect.stringContaining('empty') });
  });
});

describe('childOptions: the child of a delegate call, within the parent limits', () => {
  it("passes the parent's policies, escalation, parallelism and heartbeat timeout on, one level of delegation less, half the budget", () => {
    const planned = childOptions(parent, fresh, { agent: 'reader', task: 'read the docs', workspace: 'docs' });
    expect(planned).toEqual({
      ok: true,
      given: { tokenBudget: 5_000, budgetNanos: 1e9 },
      options: {
        task: 'read the docs',
        workspace: '/ws/project/docs',
        agent: 'reader',
        toolPolicies: { write_file: 'approve' },
        escalation: parent.escalation,
        maxParallelToolCalls: 4,
        heartbeatTimeoutMs: 2_000,
        tokenBudget: 5_000,
        budgetUsd: 1,
        delegation: { ...parent.delegation, maxDepth: 1 },
      },
    });
  });

  it('at the last level the child gets no delegation; without a budget, no budget', () => {
    const last = optionsWith({ workspace: '/ws', delegation: { agents: ['reader'] } });
    const planned = childOptions(last, memoryWith({}, last), { agent: 'reader', task: 't' });
    expect(planned.ok && planned.options).not.toHaveProperty('delegation');
    expect(planned.ok && planned.options).not.toHaveProperty('tokenBudget');
    expect(planned.ok && planned.options).not.toHaveProperty('budgetUsd');
    expect(planned.ok && planned.given).toEqual({});
  });

  it('a share is capped by maxBudgetShare, of what is left after spending and what running children hold', () => {
    const memory = memoryWith(
      {
        counters: spent({ inputTokens: 1_000, costNanos: 2e8 }),
        children: [
          child({ counters: spent({ outputTokens: 1_000, costNanos: 3e8 }) }),
          child({ status: 'running', given: { tokenBudget: 2_000, budgetNanos: 5e8 } }),
        ],
        childSeq: 2,
      },
      parent,
    );
    expect(remainingBudget(memory)).toEqual({ tokenBudget: 6_000, budgetNanos: 1e9 });
    const planned = childOptions(parent, memory, { agent: 'writer', task: 't', budget_share: 0.9 });
    expect(planned.ok && planned.given).toEqual({ tokenBudget: 3_000, budgetNanos: 5e8 });
    const small = childOptions(parent, memory, { agent: 'writer', task: 't', budget_share: 0.1 });
    expect(small.ok && small.given).toEqual({ tokenBudget: 600, budgetNanos: 1e8 });
  });

  it('refuses an agent not allowed, past maxChildren, a workspace outside, a budget used up', () => {
    expect(childOptions(parent, fresh, { agent: 'admin', task: 't' })).toEqual({
      ok: false,
      error: 'agent "admin" is not one this run may delegate to; it may: reader, writer',
    });
    expect(childOptions(parent, memoryWith({ childSeq: 3 }, parent), { agent: 'reader', task: 't' })).toEqual({
      ok: false,
      error: 'this run has started 3 sub-agents, its limit (delegation.maxChildren); do the rest yourself',
    });
    expect(childOptions(parent, fresh, { agent: 'reader', task: 't', workspace: '../x' })).toMatchObject({ ok: false });
    const broke = memoryWith({ counters: spent({ inputTokens: 10_000 }) }, parent);
    expect(childOptions(parent, broke, { agent: 'reader', task: 't' })).toEqual({
      ok: false,
      error: 'no token budget is left to give a sub-agent',
    });
    expect(childOptions(optionsWith(), fresh, { agent: 'reader', task: 't' })).toMatchObject({ ok: false });
  });
});

describe('totals: own counters plus each child totals', () => {
  it('adds spending, keeps the larger context and the run own failures in a row', () => {
    const own = spent({ turn: 3, inputTokens: 10, costNanos: 5, maxInputTokens: 50, failuresInRow: 2 });
    const kid = spent({
      turn: 4,
      inputTokens: 7,
      costNanos: 1,
      maxInputTokens: 80,
      failuresInRow: 9,
      unpricedCalls: 1,
    });
    expect(addCounters(own, kid)).toEqual({
      ...own,
      turn: 7,
      inputTokens: 17,
      costNanos: 6,
      maxInputTokens: 80,
      unpricedCalls: 1,
    });
    expect(totalsOf(own, [child({ counters: kid }), child({ counters: kid })]).turn).toBe(11);
  });

  it('progress shows children and totals only for a run that has children', () => {
    const without = buildProgress(fresh, 'running');
    expect(without).not.toHaveProperty('children');
    expect(without).not.toHaveProperty('totals');
    const children = [child({ counters: spent({ turn: 2 }) })];
    const shown = buildProgress(memoryWith({ counters: spent({ turn: 1 }), children }, parent), 'running');
    expect(shown.children).toEqual(children);
    expect(shown.totals?.turn).toBe(3);
  });

  it("the parent's token and dollar caps count its children's spending", () => {
    const children = [child({ counters: spent({ inputTokens: 6_000 }) })];
    const memory = memoryWith({ counters: spent({ inputTokens: 4_000 }), children }, parent);
    expect(capReached(memory)).toEqual({ kind: 'token_budget', text: 'token budget of 10000 reached (10000 used)' });
    expect(capReached({ ...memory, children: [] })).toBeNull();
  });
});

describe('childEndText: what the model reads when a child ends', () => {
  it('a completed child: a line naming it, its turns and cost, then its report', () => {
    const done = child({ counters: spent({ turn: 4, costNanos: 12_300_000 }) });
    expect(childEndText(done, 'all good')).toEqual({
      content: 'sub-agent p.sub-1 (agent reader) completed: 4 turns, $0.0123\n\nall good',
      isError: false,
    });
  });

  it('a child that stopped or failed is an error saying why', () => {
    const failed = child({
      status: 'failed',
      reason: 'it was terminated',
      counters: spent({ turn: 1, unpricedCalls: 1 }),
    });
    expect(childEndText(failed, undefined)).toEqual({
      content:
        'sub-agent p.sub-1 (agent reader) failed: it was terminated (1 turns, cost unknown (no price)); it gave no report',
      isError: true,
    });
  });
});

describe('the delegate tool as the model sees it', () => {
  it('names the agents it may run, and no tool may take its name', () => {
    const schema = delegateSchema(['reader', 'writer']);
    expect(schema.name).toBe('delegate');
    expect((schema.input_schema.properties as Record<string, { description: string }>).agent!.description).toContain(
      'one of reader, writer',
    );
    const tool = {
      name: 'delegate',
      description: '',
      input: {} as never,
      sideEffectFree: true,
      run: async () => ({ content: '' }),
    };
    expect(() => checkToolset('agent x', [tool])).toThrow('agent x: tool name delegate is reserved for sub-agents');
  });
});

describe('admission of delegation', () => {
  const site = (defaults: object, served = ['reader', 'writer']): AdmissionSite => ({
    agent: { name: 'lead', defaults },
    workerPolicies: {},
    tools: [],
    webhookAllow: [],
    served,
  });
  const run = { task: 't', workspace: '/ws', agent: 'lead' };
  const allows = { delegation: { agents: ['reader', 'writer'], maxChildren: 8 } };

  it("a run gets its agent's delegation, or a narrower one; a wider one is refused in one line", () => {
    const own = admitOptions(run, site(allows));
    expect(own.ok && own.options.delegation).toMatchObject({ agents: ['reader', 'writer'], maxChildren: 8 });
    const narrower = admitOptions({ ...run, delegation: { agents: ['reader'] } }, site(allows));
    expect(narrower.ok && narrower.options.delegation).toMatchObject({ agents: ['reader'], maxChildren: 8 });
    expect(admitOptions({ ...run, delegation: { agents: ['admin'] } }, site(allows))).toEqual({
      ok: false,
      error: 'delegation.agents: agent lead may not delegate to admin (only reader, writer)',
    });
    expect(admitOptions({ ...run, delegation: { agents: ['reader'], maxChildren: 9 } }, site(allows))).toEqual({
      ok: false,
      error: 'delegation.maxChildren: 9 is more than agent lead allows (8)',
    });
  });

  it('a run whose agent allows none, or that names no agent, is refused if it asks; unserved agents are refused', () => {
    expect(admitOptions({ ...run, delegation: { agents: ['reader'] } }, site({}))).toEqual({
      ok: false,
      error: 'delegation: agent lead allows no delegation',
    });
    const noAgent = { workerPolicies: {}, tools: [], webhookAllow: [] };
    expect(admitOptions({ task: 't', workspace: '/ws', delegation: { agents: ['reader'] } }, noAgent)).toMatchObject({
      ok: false,
      error: expect.stringContaining('names no agent'),
    });
    expect(admitOptions(run, site(allows, ['reader']))).toEqual({
      ok: false,
      error: 'delegation.agents: this worker serves no agent writer',
    });
    expect(admitOptions(run, site({}))).toMatchObject({
      ok: true,
      options: expect.not.objectContaining({ delegation: expect.anything() }),
    });
  });

  it("a child's delegation and policies are narrowed to its agent's, never refused, and never its agent's alone", () => {
    const given = { agents: ['reader', 'writer'], maxDepth: 3, maxAtOnce: 8, maxChildren: 32, maxBudgetShare: 0.5 };
    const childSite = site({ delegation: { agents: ['writer'], maxDepth: 1 }, toolPolicies: { write_file: 'deny' } });
    const admitted = admitOptions(
      { ...run, delegation: given, toolPolicies: { write_file: 'approve', read_file: 'allow' } },
      childSite,
      { child: true },
    );
    expect(admitted).toMatchObject({
      ok: true,
      options: {
        delegation: { agents: ['writer'], maxDepth: 1, maxAtOnce: 8, maxChildren: 32, maxBudgetShare: 0.5 },
        toolPolicies: { write_file: 'deny', read_file: 'allow' },
      },
    });
    // The parent gave it none (the last level): its agent's delegation does not apply.
    const last = admitOptions(run, childSite, { child: true });
    expect(last.ok && last.options).not.toHaveProperty('delegation');
    // Not a child: the same policies are refused as wider than the agent's.
    expect(admitOptions({ ...run, toolPolicies: { write_file: 'approve' } }, childSite)).toMatchObject({ ok: false });
  });
});

describe("the worker's start", () => {
  it('refuses an agent that delegates to an agent the worker does not serve', () => {
    const lead = defineAgent({ name: 'lead', systemPrompt: 'Lead.', tools: [], delegation: { agents: ['reader'] } });
    const start = (agents: ReturnType<typeof defineAgent>[]) => () =>
      createActivities({
        anthropic: new Anthropic({ apiKey: 'unused' }),
        store: new DirectoryStore('/nonexistent-unused'),
        agents,
      });
    expect(start([lead])).toThrow('agent lead: delegation.agents names reader, which this worker does not serve');
    expect(start([lead, defineAgent({ name: 'reader', systemPrompt: 'Read.', tools: [] })])).not.toThrow();
  });
});
