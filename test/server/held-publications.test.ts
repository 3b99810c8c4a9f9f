import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import type { Publication } from '../../src/broker/broker.js';
import { COMPACT_AFTER, heldPublications } from '../../src/server/held-publications.js';

const publication = (offset: number, symbol: string): Publication => ({
  key: 'k',
  epoch: 'e',
  offset,
  payload: { symbol },
});

/** A drop-oldest queue's private cursor, read to count which of its branches ran. */
type Cursor = { head: number; queue: unknown[]; skipped: number };

/** Wraps `held` (drop-oldest) to count drops, compactions, heads past the threshold left alone, and resets on empty. */
function watchBranches(
  held: ReturnType<typeof heldPublications>,
  seen: { dropped: number; compacted: number; notCompactedPastThreshold: number; emptied: number },
): void {
  const cursor = held as unknown as Cursor;
  const hold = held.hold.bind(held);
  const next = held.next.bind(held);
  held.hold = (publication) => {
    const head = cursor.head;
    const skipped = cursor.skipped;
    hold(publication);
    if (cursor.skipped > skipped) seen.dropped++;
    // hold moves the head on by one at most: only a compaction takes it back to 0.
    if (head >= COMPACT_AFTER && cursor.head === 0) seen.compacted++;
    else if (cursor.head > COMPACT_AFTER) seen.notCompactedPastThreshold++;
  };
  held.next = () => {
    const taken = next();
    if (taken && cursor.queue.length === 0) seen.emptied++;
    return taken;
  };
}

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
  test('drop-oldest stays within its limit, delivers in order, and accounts for every publication, through every branch', () => {
    // Sizes come from the queue's thresholds: up to 3 × COMPACT_AFTER publications, so that a
    // follower's head passes COMPACT_AFTER and the compaction runs; limits either small (drops
    // drive the head) or past COMPACT_AFTER (a long queue the compaction must leave alone). The
    // counters prove each branch ran; the old cap of 300 publications never compacted.
    const seen = { dropped: 0, compacted: 0, notCompactedPastThreshold: 0, emptied: 0 };
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 3 * COMPACT_AFTER }),
        fc.oneof(fc.integer({ min: 1, max: 20 }), fc.integer({ min: COMPACT_AFTER, max: 2 * COMPACT_AFTER })),
        fc.integer({ min: 1, max: 50 }),
        (count, limit, drainEvery) => {
          const held = heldPublications({ policy: 'drop-oldest', limit });
          watchBranches(held, seen);
          const symbols = Array.from({ length: count }, () => 'a');
          const out = run(held, symbols, drainEvery, limit);
          const offsets = out.map((o) => o.offset);
          expect(offsets).toEqual([...offsets].sort((x, y) => x - y));
          expect(new Set(offsets).size).toBe(offsets.length);
          expect(out.length + out.reduce((sum, o) => sum + o.skipped, 0)).toBe(symbols.length);
          if (symbols.length) expect(offsets.at(-1)).toBe(symbols.length);
        },
      ),
      { numRuns: 60 },
    );
    for (const [branch, times] of Object.entries(seen)) expect(times, branch).toBeGreaterThan(0);
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
