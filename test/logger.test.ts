import { describe, expect, it } from 'vitest';
import { readEnv } from '../config/env.js';
import { createLogger } from '../worker/logger.js';

function capture(level: 'INFO' | 'WARN' = 'INFO') {
  const lines: string[] = [];
  return { lines, logger: createLogger({ format: 'json', level }, (line) => lines.push(line)) };
}

describe('the worker log', () => {
  it('writes one JSON object per line: time, level, message, then the metadata', () => {
    const { lines, logger } = capture();
    const before = Date.now();
    logger.info('escalation opened', { workflowId: 'wf-1', runId: 'r-1', turn: 7, kind: 'tool_approval' });
    const after = Date.now();

    expect(lines).toHaveLength(1);
    expect(lines[0]!.endsWith('\n')).toBe(true);
    expect(lines[0]!.slice(0, -1)).not.toContain('\n');
    const entry = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(Object.keys(entry).slice(0, 3)).toEqual(['time', 'level', 'message']);
    expect(entry).toEqual({
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      level: 'INFO',
      message: 'escalation opened',
      workflowId: 'wf-1',
      runId: 'r-1',
      turn: 7,
      kind: 'tool_approval',
    });
    // The time of the call (both clocks are the wall clock, in whole milliseconds), however slow the machine.
    expect(Date.parse(entry.time as string)).toBeGreaterThanOrEqual(before);
    expect(Date.parse(entry.time as string)).toBeLessThanOrEqual(after);
  });

  it('keeps errors and bigints readable, lets no metadata replace the fixed fields, and survives a cycle', () => {
    const { lines, logger } = capture();
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    logger.warn('tool failed', { error: new TypeError('bad path'), nanos: 12n, message: 'spoofed', level: 'ERROR' });
    logger.error('odd meta', { cyclic });

    const [warned, odd] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(warned).toMatchObject({
      level: 'WARN',
      message: 'tool failed',
      nanos: '12',
      error: { name: 'TypeError', message: 'bad path' },
    });
    expect((warned!.error as { stack: string }).stack).toContain('bad path');
    expect(odd).toMatchObject({ level: 'ERROR', message: 'odd meta', metaError: expect.stringContaining('circular') });
  });

  it('drops what is below its level', () => {
    const { lines, logger } = capture('WARN');
    logger.info('not shown');
    logger.debug('not shown');
    logger.warn('shown');
    expect(lines.map((l) => (JSON.parse(l) as { message: string }).message)).toEqual(['shown']);
  });

  it('is JSON at INFO unless the environment says otherwise, and refuses unknown settings', () => {
    expect(readEnv({})).toMatchObject({ LONGHAUL_LOG_FORMAT: 'json', LONGHAUL_LOG_LEVEL: 'INFO' });
    expect(readEnv({ LONGHAUL_LOG_FORMAT: 'text', LONGHAUL_LOG_LEVEL: 'DEBUG' })).toMatchObject({
      LONGHAUL_LOG_FORMAT: 'text',
      LONGHAUL_LOG_LEVEL: 'DEBUG',
    });
    expect(() => readEnv({ LONGHAUL_LOG_FORMAT: 'yaml' })).toThrow('LONGHAUL_LOG_FORMAT="yaml"');
    expect(() => readEnv({ LONGHAUL_LOG_LEVEL: 'info' })).toThrow('LONGHAUL_LOG_LEVEL="info"');
  });
});
