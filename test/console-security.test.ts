import { describe, expect, it } from 'vitest';
import { runsQuery } from '../client/runs-query.js';
import { credentialOf, crossSiteProblem, csrfToken, hostAllowed, TOKEN_COOKIE } from '../client/console/security.js';

describe('console request checks', () => {
  it('allows only loopback names (or the bound address) with the console’s port in Host', () => {
    expect(hostAllowed('127.0.0.1:8080', '127.0.0.1', 8080)).toBe(true);
    expect(hostAllowed('localhost:8080', '127.0.0.1', 8080)).toBe(true);
    expect(hostAllowed('[::1]:8080', '::1', 8080)).toBe(true);
    expect(hostAllowed('evil.example:8080', '127.0.0.1', 8080)).toBe(false);
    expect(hostAllowed('localhost:9999', '127.0.0.1', 8080)).toBe(false);
    expect(hostAllowed(undefined, '127.0.0.1', 8080)).toBe(false);
    expect(hostAllowed('10.0.0.5:8080', '10.0.0.5', 8080)).toBe(true);
    // Bound to every address, a name other than loopback's is still refused.
    expect(hostAllowed('10.0.0.5:8080', '0.0.0.0', 8080)).toBe(false);
  });

  it('takes the bearer token, else the cookie', () => {
    expect(credentialOf({ authorization: 'Bearer abc', cookie: `${TOKEN_COOKIE}=def` })).toBe('abc');
    expect(credentialOf({ cookie: `a=1; ${TOKEN_COOKIE}=d=ef` })).toBe('d=ef');
    expect(credentialOf({})).toBeUndefined();
  });

  it('refuses a POST from another origin, a cross-site fetch, or one without the session’s CSRF token', () => {
    const token = 'a-console-token-long-enough';
    const host = '127.0.0.1:8080';
    const csrf = csrfToken(token);
    expect(
      crossSiteProblem({ host, origin: `http://${host}`, 'sec-fetch-site': 'same-origin', csrf }, token),
    ).toBeNull();
    expect(crossSiteProblem({ host, origin: 'http://evil.example', csrf }, token)).toMatch(/evil\.example are refused/);
    expect(crossSiteProblem({ host, 'sec-fetch-site': 'cross-site', csrf }, token)).toMatch(/cross-site request/);
    expect(crossSiteProblem({ host, csrf: csrfToken('another-token-entirely') }, token)).toMatch(/x-longhaul-csrf/);
    expect(crossSiteProblem({ host }, token)).toMatch(/x-longhaul-csrf/);
  });

  it('builds the list query from checked filters only', () => {
    expect(runsQuery({})).toBe("WorkflowType = 'agentRun' AND ExecutionStatus != 'ContinuedAsNew'");
    expect(runsQuery({ status: 'awaiting_human', prefix: 'audit-' })).toBe(
      "WorkflowType = 'agentRun' AND LonghaulStatus = 'awaiting_human' AND ExecutionStatus = 'Running' AND ExecutionStatus != 'ContinuedAsNew' AND WorkflowId STARTS_WITH 'audit-'",
    );
    expect(runsQuery({ status: 'continued' })).toBe("WorkflowType = 'agentRun' AND LonghaulStatus = 'continued'");
    expect(() => runsQuery({ status: 'bogus' })).toThrow(/^status: expected one of running/);
    expect(() => runsQuery({ prefix: "x' OR 1=1" })).toThrow(/^id prefix: only letters/);
  });
});
