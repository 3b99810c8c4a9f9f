import { describe, expect, test } from 'vitest';
import { TokenBucket } from '../../src/server/rate-limit.js';

/** A bucket of 10 tokens per second, burst 3, created at t = 0 ms (the clock is passed in). */
const tenPerSecond = () => new TokenBucket(10, 3, 0);

describe('TokenBucket', () => {
  test('grants a full burst at once, then reports how many messages over the limit the caller is', () => {
    const bucket = tenPerSecond();
    expect([0, 0, 0, 0, 0, 0].map((now) => bucket.take(now))).toEqual([0, 0, 0, 1, 2, 3]);
  });

  test('refills at ratePerSecond: one token per 100 ms at 10 per second', () => {
    const bucket = tenPerSecond();
    expect([bucket.take(0), bucket.take(0), bucket.take(0)]).toEqual([0, 0, 0]);
    expect(bucket.take(100)).toBe(0);
    expect(bucket.take(100)).toBe(1);
    expect(bucket.take(300)).toBe(0);
  });

  test('refills continuously, so debt can be a fraction of a message', () => {
    const bucket = new TokenBucket(10, 1, 0);
    expect(bucket.take(0)).toBe(0);
    expect(bucket.take(50)).toBe(0.5);
    expect(bucket.retryAfterMs()).toBe(150);
  });

  test('makes the caller pay back its debt before granting again', () => {
    const bucket = tenPerSecond();
    for (let i = 0; i < 5; i++) bucket.take(0); // tokens: -2
    expect(bucket.take(200)).toBe(1); // -2 + 2 - 1
    expect(bucket.take(500)).toBe(0); // -1 + 3 - 1 = 1 left
    expect(bucket.take(500)).toBe(0);
    expect(bucket.take(500)).toBe(1);
  });

  test('stops refilling at the burst, however long the caller was idle', () => {
    const bucket = tenPerSecond();
    expect(bucket.take(0)).toBe(0);
    expect([60_000, 60_000, 60_000, 60_000].map((now) => bucket.take(now))).toEqual([0, 0, 0, 1]);
  });

  test('retryAfterMs counts the debt plus the one token needed', () => {
    const bucket = tenPerSecond();
    for (let i = 0; i < 5; i++) bucket.take(0); // 2 owed
    expect(bucket.retryAfterMs()).toBe(300);
    bucket.take(0); // 3 owed
    expect(bucket.retryAfterMs()).toBe(400);
  });

  test('retryAfterMs rounds up to whole milliseconds', () => {
    const bucket = new TokenBucket(3, 1, 0);
    expect([bucket.take(0), bucket.take(0)]).toEqual([0, 1]);
    expect(bucket.retryAfterMs()).toBe(667); // 2 tokens at 3 per second: 666.67 ms
  });

  test('retryAfterMs is 0 while a token is available', () => {
    expect(tenPerSecond().retryAfterMs()).toBe(0);
  });

  test('does not charge the caller when the clock steps backwards', () => {
    const bucket = new TokenBucket(10, 3, 1000);
    expect(bucket.take(0)).toBe(0);
  });
});
