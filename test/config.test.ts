import { describe, expect, it } from 'vitest';
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
    [{ LONGHAUL_STORE_URL: 'postgre://db/x' }, 'LONGHAUL_STORE_URL="postgre://db/x": must be a postgres:// or postgresql:// URL'],
    [{ ANTHROPIC_BASE_URL: 'localhost' }, 'ANTHROPIC_BASE_URL="localhost": Invalid URL'],
    [{ LONGHAUL_MAX_CONCURRENT_ACTIVITIES: '-3' }, 'LONGHAUL_MAX_CONCURRENT_ACTIVITIES="-3": Too small: expected number to be >0'],
  ])('refuses %j with one line naming the variable', (env, message) => {
    expect(() => readEnv(env)).toThrow(ConfigError);
    expect(() => readEnv(env)).toThrow(message);
  });
});
