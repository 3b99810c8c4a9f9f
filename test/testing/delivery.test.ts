import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { assertDelivery, checkDelivery } from '../../src/testing/index.js';

describe('checkDelivery', () => {
  test('names lost, duplicated, reordered and unexpected items exactly', () => {
    expect(checkDelivery([1, 2, 3, 4, 5], [1, 3, 2, 3, 5, 9])).toEqual({
      lost: [4],
      duplicated: [3],
      reordered: [2],
      unexpected: [9],
      ok: false,
    });
  });

  test('compares by id when told how', () => {
    const published = [{ n: 1 }, { n: 2 }];
    expect(checkDelivery(published, [{ n: 1 }, { n: 2 }], (x) => x.n).ok).toBe(true);
  });

  test('assertDelivery throws with the first five of each problem, and allows signalled losses', () => {
    const published = Array.from({ length: 10 }, (_, i) => i);
    expect(() => assertDelivery(published, [0, 0, 9])).toThrow(
      'delivery failed: lost 8: 1, 2, 3, 4, 5, … (8 in all); received twice: 0',
    );
    expect(assertDelivery(published, [0, 1, 2, 9], undefined, { signalledLosses: 6 }).lost).toHaveLength(6);
  });

  test('any exact delivery is ok, and dropping any one item is reported as that loss (property)', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer(), { minLength: 1 }), fc.nat(), (items, pick) => {
        expect(checkDelivery(items, items).ok).toBe(true);
        const gone = items[pick % items.length]!;
        expect(
          checkDelivery(
            items,
            items.filter((x) => x !== gone),
          ).lost,
        ).toEqual([gone]);
      }),
    );
  });
});
