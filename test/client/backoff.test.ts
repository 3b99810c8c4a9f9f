import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { backoffDelay } from '../../src/client/backoff.js';

const top = () => 1;

describe('backoffDelay', () => {
  test('with the top draw, doubles from 250 ms by default', () => {
    expect([0, 1, 2, 3, 4, 5].map((attempt) => backoffDelay(attempt, {}, top))).toEqual([
      250, 500, 1000, 2000, 4000, 8000,
    ]);
  });

  test('caps at 30 000 ms by default', () => {
    expect([6, 7, 8, 20, 1000, 5000].map((attempt) => backoffDelay(attempt, {}, top))).toEqual([
      16_000, 30_000, 30_000, 30_000, 30_000, 30_000,
    ]);
  });

  test('grows by the given factor from the given initial delay, up to maxDelayMs', () => {
    const options = { initialDelayMs: 100, maxDelayMs: 1000, factor: 3 };
    expect([0, 1, 2, 3, 4].map((attempt) => backoffDelay(attempt, options, top))).toEqual([
      100, 300, 900, 1000, 1000,
    ]);
  });

  test('scales the ceiling by the random draw and rounds to whole milliseconds', () => {
    expect(backoffDelay(3, { initialDelayMs: 100 }, () => 0.5)).toBe(400);
    expect(backoffDelay(0, {}, () => 0.25)).toBe(63); // 62.5 rounds up
    expect(backoffDelay(2, {}, () => 0.123)).toBe(123);
    expect(backoffDelay(10, { maxDelayMs: 5000 }, () => 0.9)).toBe(4500);
  });

  test('is 0 when the draw is 0, whatever the attempt', () => {
    expect([0, 1, 5, 50].map((attempt) => backoffDelay(attempt, {}, () => 0))).toEqual([0, 0, 0, 0]);
  });

  test('draws exactly once per delay', () => {
    let draws = 0;
    backoffDelay(2, {}, () => {
      draws++;
      return 0.5;
    });
    expect(draws).toBe(1);
  });

  test('always lies within [0, min(maxDelayMs, initialDelayMs·factor^attempt)]', () => {
    fc.assert(
      fc.property(
        fc.nat(2000),
        fc.integer({ min: 1, max: 10_000 }),
        fc.nat(120_000),
        fc.integer({ min: 1, max: 10 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (attempt, initialDelayMs, maxDelayMs, factor, draw) => {
          const delay = backoffDelay(attempt, { initialDelayMs, maxDelayMs, factor }, () => draw);
          const ceiling = Math.min(maxDelayMs, initialDelayMs * factor ** attempt);
          expect(Number.isInteger(delay)).toBe(true);
          expect(delay).toBeGreaterThanOrEqual(0);
          expect(delay).toBeLessThanOrEqual(ceiling);
        },
      ),
      { numRuns: 1000 },
    );
  });

  test('is 0 with initialDelayMs 0, even after factor^attempt overflows', () => {
    expect(backoffDelay(1024, { initialDelayMs: 0 }, () => 0.5)).toBe(0);
  });

  test('with Math.random, stays within the ceiling of the default options', () => {
    const delays = Array.from({ length: 1000 }, () => backoffDelay(3));
    expect(delays.every((delay) => Number.isInteger(delay) && delay >= 0 && delay <= 2000)).toBe(true);
  });
});
