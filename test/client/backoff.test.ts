import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { backoffDelay } from '../../src/client/backoff.js';
import { TokenBucket } from '../../src/server/rate-limit.js';

describe('backoff with full jitter', () => {
  test('grows by the factor up to the cap, scaled by the random draw', () => {
    const top = () => 1;
    expect(
      [0, 1, 2, 3, 10].map((attempt) =>
        backoffDelay(attempt, { initialDelayMs: 100, maxDelayMs: 1000 }, top),
      ),
    ).toEqual([100, 200, 400, 800, 1000]);
    expect(backoffDelay(3, { initialDelayMs: 100 }, () => 0.5)).toBe(400);
    expect(backoffDelay(5, {}, () => 0)).toBe(0);
  });

  test('always lies within [0, min(max, initial·factor^attempt)]', () => {
    fc.assert(
      fc.property(fc.nat(60), fc.double({ min: 0, max: 1, noNaN: true }), (attempt, draw) => {
        const delay = backoffDelay(attempt, { initialDelayMs: 250, maxDelayMs: 30_000 }, () => draw);
        return delay >= 0 && delay <= Math.min(30_000, 250 * 2 ** attempt);
      }),
    );
  });
});

describe('token bucket', () => {
  test('grants a burst, then reports debt, then refills at the rate', () => {
    const bucket = new TokenBucket(10, 3, 0);
    expect([bucket.take(0), bucket.take(0), bucket.take(0), bucket.take(0), bucket.take(0)]).toEqual([
      0, 0, 0, 1, 2,
    ]);
    expect(bucket.retryAfterMs()).toBe(300);
    expect(bucket.take(500)).toBe(0); // 5 tokens refilled, 2 owed: 2 left after this one
    expect(bucket.take(10_000)).toBe(0); // refill stops at the burst
    expect([bucket.take(10_000), bucket.take(10_000), bucket.take(10_000)]).toEqual([0, 0, 1]);
  });
});
