import { describe, expect, test } from 'vitest';
import { MessageRate } from '../../src/server/message-rate.js';

/** 10 messages per second, burst 2, created at t = 0 ms (the clock is passed in). */
const tenPerSecond = () => new MessageRate(10, 2, 0);

describe('MessageRate', () => {
  test('accepts the burst, then asks for a refusal until one has been sent', () => {
    const rate = tenPerSecond();
    expect([rate.admit(0), rate.admit(0), rate.admit(0), rate.admit(0)]).toEqual([
      'accept',
      'accept',
      'refuse',
      'refuse',
    ]);
  });

  test('one refusal per debt period: a frame that finds a token ends the period', () => {
    const rate = tenPerSecond();
    rate.admit(0);
    rate.admit(0);
    expect(rate.admit(0)).toBe('refuse'); // owes 1
    rate.refused();
    expect(rate.admit(0)).toBe('drop'); // owes 2
    expect(rate.admit(400)).toBe('accept'); // +4 tokens: 2 - 1 = 1 left
    expect(rate.admit(400)).toBe('accept');
    expect(rate.admit(400)).toBe('refuse'); // a new debt period
    rate.refused();
    expect(rate.admit(400)).toBe('drop');
  });

  test('owing more than the burst is abuse, whether or not the frames were dropped', () => {
    const rate = tenPerSecond();
    const verdicts = [];
    for (let i = 0; i < 6; i++) {
      verdicts.push(rate.admit(0));
      if (verdicts.at(-1) === 'refuse') rate.refused();
    }
    expect(verdicts).toEqual(['accept', 'accept', 'refuse', 'drop', 'abuse', 'abuse']);
  });

  test('retryAfterMs counts the debt plus the one token needed', () => {
    const rate = tenPerSecond();
    for (let i = 0; i < 4; i++) rate.admit(0); // owes 2
    expect(rate.retryAfterMs()).toBe(300);
  });
});
