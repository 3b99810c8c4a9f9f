import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { CallSlots } from '../../src/client/call-slots.js';
import { Outbox, type Outgoing } from '../../src/client/outbox.js';
import { TokenBucket } from '../../src/protocol/token-bucket.js';

// The outbox against the server's own bucket, on a fake clock: whatever the client asks to send and
// when, what it writes never costs the server a token it does not have, and goes out in order.

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
});
afterEach(() => {
  vi.useRealTimers();
});

const owner = (): Outgoing => ({ sent: false, sentAt: 0 });

describe('Outbox', () => {
  test('writes every frame, in order, and the server bucket of the announced limits never goes into debt', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 500 }),
        fc.integer({ min: 1, max: 100 }),
        fc.integer({ min: 0, max: 2 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 50 }), fc.integer({ min: 1, max: 40 })), {
          maxLength: 30,
        }),
        (ratePerSecond, rateBurst, handshake, schedule) => {
          vi.setSystemTime(1_000_000);
          const server = new TokenBucket(ratePerSecond, rateBurst, Date.now());
          const written: number[] = [];
          let debts = 0;
          const outbox = new Outbox<Outgoing>((frame) => {
            if (server.take(Date.now()) > 0) debts++;
            written.push(Number(frame));
          });
          for (let i = 0; i < handshake; i++) outbox.send(`-${i}`);
          // A handshake longer than the burst puts the server in debt by itself: the outbox must pay it off.
          written.length = 0;
          debts = 0;
          outbox.start({ maxMessageBytes: 1, maxInFlight: 1, ratePerSecond, rateBurst }, Date.now());
          let next = 0;
          for (const [waitMs, count] of schedule) {
            vi.advanceTimersByTime(waitMs);
            for (let i = 0; i < count; i++) outbox.send(String(next++), owner());
          }
          vi.runAllTimers();
          outbox.close();
          expect(debts).toBe(0);
          expect(written).toEqual(Array.from({ length: next }, (_, i) => i));
        },
      ),
      { numRuns: 200 },
    );
  });

  test('after a hold, writes nothing until it ends, then starts from an empty bucket', () => {
    const written: number[] = [];
    const outbox = new Outbox<Outgoing>(() => written.push(Date.now() - 1_000_000));
    outbox.start({ maxMessageBytes: 1, maxInFlight: 1, ratePerSecond: 100, rateBurst: 100 }, Date.now());
    outbox.hold(40, 0, Date.now());
    for (let i = 0; i < 3; i++) outbox.send('x');
    vi.runAllTimers();
    // 40 ms held, then one token per 1000 / 99 ms (99% of the rate).
    expect(written).toEqual([51, 61, 71]);
  });

  test('a hold is bounded: a server asking for an hour gets MAX_HOLD_MS (60 s)', () => {
    const written: number[] = [];
    const outbox = new Outbox<Outgoing>(() => written.push(Date.now() - 1_000_000));
    outbox.hold(3_600_000, 0, Date.now());
    outbox.send('x');
    vi.runAllTimers();
    expect(written).toEqual([60_000]);
  });

  test('a removed frame is never written; close returns the owners still waiting, in order', () => {
    const outbox = new Outbox<Outgoing>(() => {});
    outbox.start({ maxMessageBytes: 1, maxInFlight: 1, ratePerSecond: 1, rateBurst: 2 }, Date.now());
    const [a, b, c, d] = [owner(), owner(), owner(), owner()];
    for (const each of [a, b, c, d]) outbox.send('x', each);
    expect([a.sent, b.sent, c.sent, d.sent]).toEqual([true, false, false, false]);
    expect(outbox.remove(c)).toBe(true);
    expect(outbox.close()).toEqual([b, d]);
  });
});

describe('CallSlots', () => {
  test('admits up to the limit, then lets the waiting go in order as calls end', () => {
    const slots = new CallSlots<{ holdsSlot: boolean; n: number }>();
    slots.start(2);
    const calls = [0, 1, 2, 3, 4].map((n) => ({ holdsSlot: false, n }));
    expect(calls.map((call) => slots.admit(call))).toEqual([true, true, false, false, false]);
    expect(slots.release(calls[3]!)).toEqual([]);
    expect(slots.release(calls[0]!).map((call) => call.n)).toEqual([2]);
    expect(slots.close().map((call) => call.n)).toEqual([4]);
  });
});
