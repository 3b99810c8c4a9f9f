import { afterEach, describe, expect, test, vi } from 'vitest';
import { MessageRate } from '../../src/server/message-rate.js';
import { type Harness, startHarness } from '../support/harness.js';

let harness: Harness | undefined;
afterEach(() => {
  harness?.close();
  harness = undefined;
  vi.useRealTimers();
});

/** `promise`, or a failure naming `what` after `ms`: a missing close fails fast instead of hanging. */
function within<T>(promise: Promise<T>, what: string, ms = 2000): Promise<T> {
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms)),
  ]);
}

// These kill "the rate-limit close threshold doubled" (or moved at all): the close must come at an
// exact frame, not merely at some point of a flood.
describe('the rate-limit abuse threshold (4202) is a debt of more than one burst', () => {
  test('with a burst of 3 and the clock still: 3 accepted, 1 refused, 2 dropped, and the 7th frame is abuse', () => {
    const rate = new MessageRate(1, 3, 0);
    const verdicts = [];
    for (let i = 0; i < 7; i++) {
      const verdict = rate.admit(0);
      if (verdict === 'refuse') rate.refused();
      verdicts.push(verdict);
    }
    expect(verdicts).toEqual(['accept', 'accept', 'accept', 'refuse', 'drop', 'drop', 'abuse']);
  });

  test('a connection is closed 4202 at the 6th call after its hello (burst 3), and not at the 5th', async () => {
    // Only Date is frozen: the bucket refills nothing, while the transport's setImmediate still runs.
    vi.useFakeTimers({ toFake: ['Date'] });
    harness = await startHarness({ limits: { ratePerSecond: 1, rateBurst: 3 } });
    const peer = harness.raw();
    await peer.handshake(); // the hello took one token of three
    for (let id = 1; id <= 5; id++)
      peer.send({ type: 'call', id, command: 'math.add', input: { a: id, b: 0 } });
    const replies = [];
    for (let i = 0; i < 3; i++) replies.push(await within(peer.next(), `reply ${i + 1} of 3`));
    // RATE_LIMITED is answered at once, results after their handlers: compare in id order.
    replies.sort((a, b) => a.id - b.id);
    expect(replies.map((m) => [m.id, m.type === 'error' ? m.code : m.output])).toEqual([
      [1, { sum: 1 }],
      [2, { sum: 2 }],
      [3, 'RATE_LIMITED'],
    ]);
    // Calls 1 to 5 reached the server in one delivery and the results of 1 and 2 came after it, so
    // calls 4 and 5 (both dropped) have been judged: the connection is still there.
    expect(harness.server.list()).toHaveLength(1);
    peer.send({ type: 'call', id: 6, command: 'math.add', input: { a: 6, b: 0 } });
    expect(await within(peer.closed, 'close after the 6th call')).toEqual({
      code: 4202,
      reason: 'kept sending past the rate limit',
    });
    expect(harness.server.list()).toEqual([]);
  });
});
