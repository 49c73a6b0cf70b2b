import { describe, expect, it } from 'vitest';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { temporalConnectionOptions } from '../config/connection.js';
import { ConfigError, readEnv } from '../config/env.js';

describe('worker configuration from the environment', () => {
  it('applies defaults and treats empty values as unset', () => {
    expect(readEnv({ TEMPORAL_ADDRESS: '', LONGHAUL_TASK_QUEUE: 'q' })).toMatchObject({
      TEMPORAL_ADDRESS: 'localhost:7233',
      TEMPORAL_NAMESPACE: 'default',
      LONGHAUL_TASK_QUEUE: 'q',
      LONGHAUL_MAX_CONCURRENT_ACTIVITIES: 100,
    });
  });

  it.each([
    [
      { LONGHAUL_STORE_URL: 'postgre://db/x' },
      'LONGHAUL_STORE_URL="postgre://db/x": must be a postgres:// or postgresql:// URL',
    ],
    [{ ANTHROPIC_BASE_URL: 'localhost' }, 'ANTHROPIC_BASE_URL="localhost": Invalid URL'],
    [
      { LONGHAUL_MAX_CONCURRENT_ACTIVITIES: '-3' },
      'LONGHAUL_MAX_CONCURRENT_ACTIVITIES="-3": Too small: expected number to be >0',
    ],
  ])('refuses %j with one line naming the variable', (env, message) => {
    expect(() => readEnv(env)).toThrow(ConfigError);
    expect(() => readEnv(env)).toThrow(message);
  });
});

describe('the Temporal connection from the environment', () => {
  const connect = (env: Record<string, string>) => temporalConnectionOptions(readEnv(env));

  it('is plain for a local dev server', () => {
    expect(connect({})).toEqual({ address: 'localhost:7233' });
  });

  it('uses TLS with an API key for Temporal Cloud', () => {
    expect(connect({ TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233', TEMPORAL_API_KEY: 'key-123' })).toEqual({
      address: 'ns.acct.tmprl.cloud:7233',
      tls: true,
      apiKey: 'key-123',
    });
  });

  it('reads mutual-TLS certificates', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'longhaul-tls-'));
    await writeFile(join(dir, 'c.pem'), 'CERT');
    await writeFile(join(dir, 'k.pem'), 'KEY');
    const options = connect({ TEMPORAL_TLS_CERT: join(dir, 'c.pem'), TEMPORAL_TLS_KEY: join(dir, 'k.pem') });
    expect(options.tls).toEqual({ clientCertPair: { crt: Buffer.from('CERT'), key: Buffer.from('KEY') } });
  });

  it.each([
    [
      { TEMPORAL_TLS_CERT: '/x/c.pem' },
      'TEMPORAL_TLS_KEY: needed too, as TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together',
    ],
    [
      { TEMPORAL_TLS_CERT: '/nonexistent/c.pem', TEMPORAL_TLS_KEY: '/nonexistent/k.pem' },
      'TEMPORAL_TLS_CERT="/nonexistent/c.pem": cannot read it (ENOENT)',
    ],
    [
      { TEMPORAL_TLS: 'false', TEMPORAL_API_KEY: 'k' },
      'TEMPORAL_TLS="false": contradicts the TLS certificate or API key also set',
    ],
    [{ TEMPORAL_TLS: 'yes' }, 'TEMPORAL_TLS="yes": Invalid option: expected one of "true"|"false"'],
  ])('refuses %j with one line naming the variable', (env, message) => {
    expect(() => connect(env)).toThrow(ConfigError);
    expect(() => connect(env)).toThrow(message);
  });
});
