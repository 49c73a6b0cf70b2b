import { describe, expect, it } from 'vitest';
import { runOptionsFromFlags, UsageError } from '../../client/run-flags.js';
import { RunOptions } from '../../common/options.js';

describe('run flags', () => {
  it('--heartbeat-timeout and --workflow-task-timeout set their options; out of range it is refused naming the flag', () => {
    expect(runOptionsFromFlags({ task: 't', 'heartbeat-timeout': '2000' }, '/w').heartbeatTimeoutMs).toBe(2000);
    expect(RunOptions.parse({ task: 't', workspace: '/w' }).heartbeatTimeoutMs).toBe(5000);
    expect(runOptionsFromFlags({ task: 't', 'workflow-task-timeout': '2000' }, '/w').workflowTaskTimeoutMs).toBe(2000);
    expect(RunOptions.parse({ task: 't', workspace: '/w' }).workflowTaskTimeoutMs).toBe(10_000);
    expect(() => runOptionsFromFlags({ task: 't', 'heartbeat-timeout': '500' }, '/w')).toThrow(
      new UsageError('--heartbeat-timeout: Too small: expected number to be >=1000'),
    );
    expect(() => runOptionsFromFlags({ task: 't', 'heartbeat-timeout': '2s' }, '/w')).toThrow(
      /^--heartbeat-timeout: expected a whole number, got "2s"$/,
    );
  });
});
