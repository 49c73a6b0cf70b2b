import { ApplicationFailure } from '@temporalio/common';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNotifier } from '../../activities/notify.js';
import { admitOptions, originOf, type AdmissionSite } from '../../common/admission.js';
import type { Escalation } from '../../common/escalation.js';
import { withAgentDefaults } from '../../common/options.js';

const site = (over: Partial<AdmissionSite> = {}): AdmissionSite => ({
  workerPolicies: {},
  tools: ['list_files', 'read_file', 'write_file'],
  webhookAllow: [],
  ...over,
});
const agent = {
  name: 'reviewer',
  defaults: { toolPolicies: { write_file: 'deny' as const, deploy: 'approve' as const } },
};
const run = { task: 't', workspace: 'ws' };

describe('tool policies: a run narrows its ceiling, never widens it', () => {
  it("a run wider than its agent's policy is refused, naming the tool, the agent and both policies", () => {
    expect(
      admitOptions({ ...run, agent: 'reviewer', toolPolicies: { write_file: 'approve' } }, site({ agent })),
    ).toEqual({
      ok: false,
      error:
        'toolPolicies.write_file: approve is wider than agent reviewer allows (deny); a run may narrow its tool policies, never widen them',
    });
  });

  it("without an agent the worker's policies are the ceiling, with the built-in defaults behind them", () => {
    // The built-in default of write_file is approve: a run cannot allow it on a worker that does not.
    const refused = admitOptions({ ...run, toolPolicies: { write_file: 'allow' } }, site());
    expect(refused.ok || refused.error).toMatch(
      /^toolPolicies\.write_file: allow is wider than this worker allows \(approve\)/,
    );
    const denyAll = site({ workerPolicies: { read_file: 'deny' } });
    expect(admitOptions({ ...run, toolPolicies: { read_file: 'approve' } }, denyAll).ok).toBe(false);
    // A worker that allows writes lets a run allow them, or ask first.
    const permissive = site({ workerPolicies: { write_file: 'allow' } });
    expect(admitOptions({ ...run, toolPolicies: { write_file: 'allow' } }, permissive).ok).toBe(true);
  });

  it("every tool's policy comes out explicit: the run's where it narrows, else the ceiling", () => {
    const admitted = admitOptions(
      { ...run, agent: 'reviewer', toolPolicies: { read_file: 'approve', deploy: 'deny' } },
      site({ agent, tools: ['read_file', 'write_file', 'deploy', 'list_files'] }),
    );
    expect(admitted).toEqual({
      ok: true,
      options: {
        ...run,
        agent: 'reviewer',
        toolPolicies: { read_file: 'approve', write_file: 'deny', deploy: 'deny', list_files: 'allow' },
      },
    });
    const unset = admitOptions(run, site({ workerPolicies: { write_file: 'allow' } }));
    expect(unset.ok && unset.options.toolPolicies).toEqual({
      list_files: 'allow',
      read_file: 'allow',
      write_file: 'allow',
    });
  });

  it("withAgentDefaults (the merge of runs from before admission) never lets a run's policy widen its agent's", () => {
    const merged = withAgentDefaults(agent.defaults, {
      ...run,
      toolPolicies: { write_file: 'allow', read_file: 'deny' },
    });
    expect(merged.toolPolicies).toEqual({ write_file: 'deny', deploy: 'approve', read_file: 'deny' });
  });
});

describe('webhooks: only to origins on the worker allow-list', () => {
  it('normalizes allow-list entries that are exactly an http(s) origin, and nothing else', () => {
    expect(originOf('https://Hooks.Example.com:443')).toBe('https://hooks.example.com');
    expect(originOf('http://127.0.0.1:9000/')).toBe('http://127.0.0.1:9000');
    for (const bad of [
      'https://h.example.com/path',
      'https://u:p@h.example.com',
      'ftp://h.example.com',
      'h.example.com',
    ])
      expect(originOf(bad), bad).toBeUndefined();
  });

  it('a run whose webhook is not on the list is refused, naming the origin and not the secret path', () => {
    const hook = { escalation: { webhookUrl: 'https://evil.example.net/T0K3N' } };
    const refused = admitOptions({ ...run, ...hook }, site({ webhookAllow: ['https://hooks.example.com'] }));
    expect(refused).toEqual({
      ok: false,
      error:
        "escalation.webhookUrl goes to https://evil.example.net, which is not on this worker's webhook allow-list (LONGHAUL_WEBHOOK_ALLOW)",
    });
    const allowed = { escalation: { webhookUrl: 'https://hooks.example.com/T0K3N' } };
    expect(admitOptions({ ...run, ...allowed }, site({ webhookAllow: ['https://hooks.example.com'] })).ok).toBe(true);
  });
});

describe('notifyEscalation on the worker', () => {
  const escalation: Escalation = {
    id: 'esc-1',
    kind: 'model_request',
    reason: 'r',
    question: 'q?',
    openedAt: '2026-01-01T00:00:00.000Z',
    deadline: '2026-01-02T00:00:00.000Z',
  };
  const hits = { redirector: 0, target: 0 };
  const servers: Server[] = [];
  let redirector = '';
  let target = '';
  const listen = (handle: Parameters<typeof createServer>[1]) =>
    new Promise<string>((resolve) => {
      const server = createServer(handle);
      servers.push(server);
      server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as { port: number }).port}`));
    });
  beforeAll(async () => {
    target = await listen((req, res) => {
      hits.target++;
      req.resume();
      res.writeHead(204).end();
    });
    redirector = await listen((req, res) => {
      hits.redirector++;
      req.resume();
      res.writeHead(307, { location: `${target}/stolen` }).end();
    });
  });
  afterAll(() => servers.forEach((s) => s.close()));

  const failure = (p: Promise<void>) =>
    p.then(
      () => undefined,
      (err: unknown) => err as ApplicationFailure,
    );

  it('a 307 is not followed: a non-retryable failure naming the status, not the Location', async () => {
    const notify = createNotifier([redirector, target]);
    const err = await failure(notify({ url: `${redirector}/hook`, workflowId: 'wf', escalation }));
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect(err!.message).toBe(`webhook at ${redirector} answered 307, a redirect; redirects are not followed`);
    expect(err!.nonRetryable).toBe(true);
    expect(hits).toEqual({ redirector: 1, target: 0 });
  });

  it('a URL whose origin is not on the list is never fetched', async () => {
    const notify = createNotifier([target]);
    const err = await failure(notify({ url: `${redirector}/hook`, workflowId: 'wf', escalation }));
    expect(err!.message).toMatch(
      /^webhook goes to http:\/\/127\.0\.0\.1:\d+, which is not on this worker's webhook allow-list/,
    );
    expect(err!.nonRetryable).toBe(true);
    expect(hits.redirector).toBe(1);
    await notify({ url: `${target}/hook`, workflowId: 'wf', escalation });
    expect(hits.target).toBe(1);
  });
});
