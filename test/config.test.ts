import { describe, expect, it } from 'vitest';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { temporalConnectionOptions } from '../config/connection.js';
import { ConfigError, nameAndValue, readEnv } from '../config/env.js';

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

  it.each([
    [
      { LONGHAUL_STORE_URL: 'postgre://longhaul:Hunter2Secret@db:5432/x' },
      'LONGHAUL_STORE_URL="postgre://…@db:5432/x" (credentials not shown): must be a postgres:// or postgresql:// URL',
    ],
    [
      // A password with an unencoded @, and one in the query (libpq's ?password=).
      { LONGHAUL_STORE_URL: 'postgres://u:Hunter2@Secret@db/x ?password=Hunter2Secret' },
      'LONGHAUL_STORE_URL="postgres://…@db/x ?…" (credentials not shown): must be a postgres:// or postgresql:// URL',
    ],
    [{ LONGHAUL_STORE_URL: 'Hunter2Secret@db' }, 'LONGHAUL_STORE_URL="…@db" (credentials not shown)'],
    [
      { ANTHROPIC_BASE_URL: 'https//user:Hunter2Secret@api' },
      'ANTHROPIC_BASE_URL="…@api" (credentials not shown): Invalid URL',
    ],
    [
      { LONGHAUL_CODEC_TOKEN: 'Hunter2Secret' },
      'LONGHAUL_CODEC_TOKEN (value not shown: a secret): must be at least 16 characters',
    ],
  ])('never echoes a secret: %j', (env, message) => {
    const err = (() => {
      try {
        readEnv(env);
      } catch (e) {
        return e as Error;
      }
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect(err?.message).toContain(message);
    expect(err?.message).not.toMatch(/Hunter2|Secret/);
  });

  it('never shows the value of a *_KEY, *_KEYS, *_TOKEN, *_PASSWORD or *_SECRET setting, whatever its name', () => {
    for (const name of [
      'ANTHROPIC_API_KEY',
      'TEMPORAL_API_KEY',
      'LONGHAUL_ENCRYPTION_KEYS',
      'LONGHAUL_CODEC_TOKEN',
      'SOME_PASSWORD',
      'OTHER_SECRET',
    ])
      expect(nameAndValue(name, 'Hunter2Secret')).toBe(`${name} (value not shown: a secret)`);
    expect(nameAndValue('LONGHAUL_TASK_QUEUE', 'q\n')).toBe('LONGHAUL_TASK_QUEUE="q\\n"');
    expect(nameAndValue('OTEL_EXPORTER_OTLP_ENDPOINT', 'ftp://x')).toBe('OTEL_EXPORTER_OTLP_ENDPOINT="ftp://x"');
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
