import { afterEach, describe, expect, test } from 'vitest';
import { type Harness, startHarness, TRANSPORTS } from '../support/harness.js';

let harness: Harness;
afterEach(() => harness?.close());

/** Subscribes a raw peer to ticks.prices for `symbol` from `from`; the `subscribed` answer and the next `count` publications. */
async function resume(symbol: string, from: { epoch: string; offset: number }, count: number) {
  const peer = harness.raw();
  await peer.handshake();
  peer.send({ type: 'subscribe', id: 's', topic: 'ticks.prices', params: { symbol }, from });
  const subscribed = await peer.next((m) => m.type === 'subscribed');
  const got: [number, unknown][] = [];
  for (let i = 0; i < count; i++) {
    const m = await peer.next((message) => message.type === 'publication');
    got.push([m.offset, m.payload]);
  }
  return { peer, subscribed, got };
}

describe.each(TRANSPORTS)('over %s, resuming from a position the broker never reached', (kind) => {
  // Kills "a resume position ahead of the broker in the same epoch answered with no gap": such a
  // position means the broker's offsets restarted under the same epoch name (or the client is
  // lying); either way what the client holds does not match, so it gets gap "epoch" and all that is kept.
  test('an offset past the top in the same epoch gets gap "epoch" and every kept publication from 1', async () => {
    harness = await startHarness({}, {}, kind);
    let position = { epoch: '', offset: 0 };
    for (const price of [10, 20, 30])
      position = await harness.server.publish('ticks.prices', { symbol: 'A' }, price);
    expect(position.offset).toBe(3);
    const { subscribed, got } = await resume('A', { epoch: position.epoch, offset: 8 }, 3);
    expect(subscribed).toEqual({
      type: 'subscribed',
      id: 's',
      key: 'ticks.A.price',
      epoch: position.epoch,
      offset: 0,
      gap: 'epoch',
    });
    expect(got).toEqual([
      [1, 10],
      [2, 20],
      [3, 30],
    ]);
  });

  test('an offset exactly at the top in the same epoch resumes there with no gap', async () => {
    harness = await startHarness({}, {}, kind);
    let position = { epoch: '', offset: 0 };
    for (const price of [10, 20, 30])
      position = await harness.server.publish('ticks.prices', { symbol: 'B' }, price);
    const { peer, subscribed } = await resume('B', position, 0);
    expect(subscribed).toEqual({
      type: 'subscribed',
      id: 's',
      key: 'ticks.B.price',
      epoch: position.epoch,
      offset: 3,
    });
    await harness.server.publish('ticks.prices', { symbol: 'B' }, 40);
    const next = await peer.next((m) => m.type === 'publication');
    expect([next.offset, next.payload]).toEqual([4, 40]);
  });
});
