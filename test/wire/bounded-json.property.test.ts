import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_MAX_DEPTH,
  jsonDepthExceeds,
  parseBoundedJson,
  valueDepthExceeds,
} from '../../src/wire/bounded-json.js';

/** Reference depth by recursion: fine for the shallow values the generators make. */
function depthOf(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0;
  const children = Array.isArray(value) ? value : Object.values(value);
  return 1 + Math.max(0, ...children.map(depthOf));
}

function nested(levels: number): string {
  return '['.repeat(levels) + ']'.repeat(levels);
}

describe('bounded JSON', () => {
  it('agrees with the parsed value on every limit, brackets inside strings included', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 8 }), fc.nat(10), (value, limit) => {
        const text = JSON.stringify(value);
        const expected = depthOf(value) > limit;
        expect(jsonDepthExceeds(text, limit)).toBe(expected);
        expect(valueDepthExceeds(value, limit)).toBe(expected);
      }),
    );
  });

  it('refuses 100,000 levels without parsing them', () => {
    const parsed = parseBoundedJson(nested(100_000));
    expect(parsed).toEqual({
      ok: false,
      reason: 'too-deep',
      message: `nested deeper than ${DEFAULT_MAX_DEPTH} levels`,
    });
  });

  it('accepts exactly the limit and refuses one more', () => {
    expect(parseBoundedJson('{"a":{"b":{}}}', 3)).toEqual({ ok: true, value: { a: { b: {} } } });
    expect(parseBoundedJson('{"a":{"b":{"c":{}}}}', 3).ok).toBe(false);
    expect(parseBoundedJson(nested(64))).toEqual({ ok: true, value: JSON.parse(nested(64)) });
    expect(parseBoundedJson(nested(65)).ok).toBe(false);
  });

  it('skips escaped quotes and brackets inside strings', () => {
    const text = JSON.stringify({ a: '\\"[[[[[[' + '['.repeat(100) });
    expect(jsonDepthExceeds(text, 1)).toBe(false);
    expect(jsonDepthExceeds(`[${text}]`, 1)).toBe(true);
  });

  it('reports invalid JSON as invalid, not as a throw', () => {
    const parsed = parseBoundedJson('{"a":');
    expect(parsed.ok).toBe(false);
    expect(parsed.ok === false && parsed.reason).toBe('invalid');
  });

  it('treats a cycle as too deep instead of looping', () => {
    const cyclic: { self?: unknown } = {};
    cyclic.self = cyclic;
    expect(valueDepthExceeds(cyclic, 10)).toBe(true);
  });
});
