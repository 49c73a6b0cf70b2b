import { describe, expect, it } from 'vitest';
import { measure, utf8Bytes } from '../../common/input-bounds.js';

const nested = (depth: number) => {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = { a: v };
  return v;
};

describe('measure: bounds without recursion', () => {
  it('measures depth: a scalar 0, {} and [] 1', () => {
    expect(measure(1).depth).toBe(0);
    expect(measure({}).depth).toBe(1);
    expect(measure([[], { a: [1] }]).depth).toBe(3);
  });

  it('stops at a depth limit, even 100,000 deep (JSON.stringify overflows the stack there)', () => {
    const deep = nested(100_000);
    expect(() => JSON.stringify(deep)).toThrow(RangeError);
    expect(measure(deep, { maxDepth: 64 })).toMatchObject({ exceeded: 'depth', depth: 65 });
    expect(measure(nested(64), { maxDepth: 64 }).exceeded).toBeNull();
  });

  it('estimates the JSON size closely for plain values, and stops past a byte limit', () => {
    const value = { path: 'a.txt', n: [1, 22, null, true], s: 'é€😀' };
    expect(measure(value).bytes).toBe(utf8Bytes(JSON.stringify(value)));
    expect(measure({ s: 'x'.repeat(10_000) }, { maxBytes: 1_000 }).exceeded).toBe('bytes');
  });

  it('counts UTF-8 bytes as Buffer does', () => {
    for (const s of ['', 'abc', 'é', '€', '😀', 'a😀b€']) expect(utf8Bytes(s)).toBe(Buffer.byteLength(s));
  });
});
