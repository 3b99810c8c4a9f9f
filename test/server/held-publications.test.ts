import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import type { Publication } from '../../src/broker/broker.js';
import { heldPublications } from '../../src/server/held-publications.js';

const publication = (offset: number, symbol: string): Publication => ({
  key: 'k',
  epoch: 'e',
  offset,
  payload: { symbol },
});

/** Holds `symbols.length` publications, taking some out after each `drainEvery`-th one. */
function run(
  held: ReturnType<typeof heldPublications>,
  symbols: string[],
  drainEvery: number,
  bound: number,
) {
  const out: { offset: number; skipped: number }[] = [];
  symbols.forEach((symbol, i) => {
    held.hold(publication(i + 1, symbol));
    expect(held.size).toBeLessThanOrEqual(bound);
    if ((i + 1) % drainEvery === 0) {
      const next = held.next();
      if (next) out.push({ offset: next.publication.offset, skipped: next.skipped });
    }
  });
  for (let next = held.next(); next; next = held.next())
    out.push({ offset: next.publication.offset, skipped: next.skipped });
  return out;
}

describe('held publications (properties)', () => {
  test('drop-oldest stays within its limit, delivers in order, and accounts for every publication', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom('a', 'b', 'c'), { maxLength: 300 }),
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 50 }),
        (symbols, limit, drainEvery) => {
          const out = run(heldPublications({ policy: 'drop-oldest', limit }), symbols, drainEvery, limit);
          const offsets = out.map((o) => o.offset);
          expect(offsets).toEqual([...offsets].sort((x, y) => x - y));
          expect(out.length + out.reduce((sum, o) => sum + o.skipped, 0)).toBe(symbols.length);
          if (symbols.length) expect(offsets.at(-1)).toBe(symbols.length);
        },
      ),
    );
  });

  test('latest-by-key keeps one value per key, the newest, and never loses a key under maxKeys', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom('a', 'b', 'c', 'd'), { maxLength: 300 }), (symbols) => {
        const held = heldPublications({ policy: 'latest-by-key', key: (p: { symbol: string }) => p.symbol });
        for (const [i, symbol] of symbols.entries()) held.hold(publication(i + 1, symbol));
        const out: Publication[] = [];
        for (let next = held.next(); next; next = held.next()) {
          expect(next.skipped).toBe(0);
          out.push(next.publication);
        }
        const newest = new Map<string, number>();
        for (const [i, symbol] of symbols.entries()) newest.set(symbol, i + 1);
        expect(out.map((p) => p.offset)).toEqual([...newest.values()].sort((x, y) => x - y));
      }),
    );
  });

  test('latest-by-key past maxKeys drops the key with the oldest value and counts it', () => {
    const held = heldPublications({
      policy: 'latest-by-key',
      key: (p: { symbol: string }) => p.symbol,
      maxKeys: 2,
    });
    held.hold(publication(1, 'a'));
    held.hold(publication(2, 'b'));
    held.hold(publication(3, 'c'));
    expect(held.size).toBe(2);
    expect(held.next()).toEqual({ publication: publication(2, 'b'), skipped: 1 });
    expect(held.next()).toEqual({ publication: publication(3, 'c'), skipped: 0 });
    expect(held.next()).toBeUndefined();
  });

  test('a payload the key function cannot read is held on its own, never conflated', () => {
    const held = heldPublications({
      policy: 'latest-by-key',
      key: (p: { symbol: { name: string } }) => p.symbol.name,
    });
    held.hold({ key: 'k', epoch: 'e', offset: 1, payload: null });
    held.hold({ key: 'k', epoch: 'e', offset: 2, payload: null });
    expect(held.size).toBe(2);
  });
});
