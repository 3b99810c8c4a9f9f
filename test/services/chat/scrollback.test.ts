import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { Scrollback } from '../../../src/services/chat/index.js';

describe('Scrollback', () => {
  test('keeps the newest `capacity` items, oldest first', () => {
    const log = new Scrollback<string>(2);
    for (const item of ['a', 'b', 'c']) log.append(item);
    expect(log.items()).toEqual(['b', 'c']);
    expect(log.size).toBe(2);
  });

  test('whatever the capacity and appends, it holds the last `capacity` appended, in order', () => {
    fc.assert(
      fc.property(fc.nat(12), fc.array(fc.integer(), { maxLength: 60 }), (capacity, appended) => {
        const log = new Scrollback<number>(capacity);
        for (const item of appended) log.append(item);
        const expected = capacity === 0 ? [] : appended.slice(-capacity);
        expect(log.items()).toEqual(expected);
        expect(log.size).toBe(expected.length);
      }),
    );
  });

  test.each([-1, 0.5, Number.NaN])('refuses a capacity of %d', (capacity) => {
    expect(() => new Scrollback(capacity)).toThrow(
      new TypeError(`scrollback capacity must be a non-negative integer, got ${capacity}`),
    );
  });
});
