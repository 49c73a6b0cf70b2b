import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_MODEL, MODELS, modelSpec, type ModelPrice } from '../../common/models.js';
import { RunOptions } from '../../common/options.js';

/** The ids of the SDK's `Model` union, read from the installed .d.ts so a new SDK model fails this test. */
const sdkModelIds = (): string[] => {
  const dts = readFileSync(
    new URL('../../node_modules/@anthropic-ai/sdk/resources/messages/messages.d.ts', import.meta.url),
    'utf8',
  );
  const union = /export type Model = ([^;]*);/.exec(dts)?.[1];
  if (union === undefined) throw new Error('no `export type Model =` in the SDK messages.d.ts');
  return [...union.matchAll(/'([^']+)'/g)].map((m) => m[1] ?? '');
};

const expectOrderedPrice = (id: string, p: ModelPrice) => {
  expect(p.cacheReadPerMTok, `${id}: cache read`).toBeGreaterThan(0);
  expect(p.cacheReadPerMTok, `${id}: cache read < input`).toBeLessThan(p.inputPerMTok);
  expect(p.inputPerMTok, `${id}: input < 5m write`).toBeLessThan(p.cacheWrite5mPerMTok);
  expect(p.cacheWrite5mPerMTok, `${id}: 5m write < 1h write`).toBeLessThan(p.cacheWrite1hPerMTok);
  expect(p.outputPerMTok, `${id}: output`).toBeGreaterThan(p.inputPerMTok);
};

describe('model table', () => {
  it("holds exactly the ids of the SDK's Model type, dated ids included", () => {
    const ids = sdkModelIds();
    expect(ids).toContain('claude-haiku-4-5-20251001');
    expect(Object.keys(MODELS).sort()).toEqual([...new Set(ids)].sort());
  });

  it('every spec is sane: its own id, prices in order, output within the window, a cache minimum', () => {
    for (const [id, spec] of Object.entries(MODELS)) {
      expect(spec.id).toBe(id);
      expectOrderedPrice(id, spec.price);
      if (spec.longPrompt) {
        expectOrderedPrice(`${id} (long prompt)`, spec.longPrompt.price);
        expect(spec.longPrompt.overTokens).toBeLessThan(spec.contextWindow);
      }
      expect(Number.isInteger(spec.contextWindow) && Number.isInteger(spec.maxOutputTokens)).toBe(true);
      expect(spec.maxOutputTokens, `${id}: max output`).toBeGreaterThan(0);
      expect(spec.maxOutputTokens, `${id}: max output <= context window`).toBeLessThanOrEqual(spec.contextWindow);
      expect(spec.minCacheableTokens, `${id}: min cacheable`).toBeGreaterThan(0);
      expect(spec.minCacheableTokens).toBeLessThan(spec.contextWindow);
    }
  });

  it('a dated id and its alias are the same model', () => {
    for (const [alias, dated] of [
      ['claude-haiku-4-5', 'claude-haiku-4-5-20251001'],
      ['claude-opus-4-5', 'claude-opus-4-5-20251101'],
      ['claude-sonnet-4-5', 'claude-sonnet-4-5-20250929'],
    ] as const) {
      expect({ ...modelSpec(dated), id: alias }).toEqual(modelSpec(alias));
    }
  });
});

describe('modelSpec', () => {
  it('knows the default model, which is the run default', () => {
    expect(modelSpec(DEFAULT_MODEL)?.id).toBe('claude-sonnet-5-5');
    expect(RunOptions.parse({ task: 't', workspace: 'ws' }).model).toBe(DEFAULT_MODEL);
  });

  it('returns undefined for a misspelt id and for object keys that are not models', () => {
    expect(modelSpec('claude-sonet-5-5')).toBeUndefined();
    expect(modelSpec('constructor')).toBeUndefined();
    expect(modelSpec('__proto__')).toBeUndefined();
    expect(modelSpec('')).toBeUndefined();
  });
});
