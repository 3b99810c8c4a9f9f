import { afterEach, describe, expect, test } from 'vitest';
import { MemoryBroker } from '../../src/broker/memory.js';
import type { Gap } from '../../src/client/subscription.js';
import { anonymous } from '../../src/server/index.js';
import { type Harness, startHarness, TRANSPORTS } from '../support/harness.js';

let harness: Harness;
afterEach(() => harness?.close());

function collector() {
  const got: number[] = [];
  let wake: (() => void) | undefined;
  return {
    got,
    push(value: number) {
      got.push(value);
      wake?.();
    },
    /** Waits until `count` values arrived; fails the test after 5 s. */
    async until(count: number) {
      const deadline = Date.now() + 5000;
      while (got.length < count) {
        if (Date.now() > deadline) throw new Error(`only ${got.length} of ${count} arrived`);
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, 50);
        });
      }
    },
  };
}

describe.each(TRANSPORTS)('topics over %s', (kind) => {
  test('delivers server publications in order with their positions', async () => {
    harness = await startHarness({}, {}, kind);
    const client = harness.client();
    const positions: number[] = [];
    const prices = collector();
    const sub = client.subscribe('ticks.prices', { symbol: 'ACME' }, (price, position) => {
      positions.push(position.offset);
      prices.push(price);
    });
    await sub.ready;
    expect(sub.key).toBe('ticks.ACME.price');
    for (let i = 1; i <= 5; i++) await harness.server.publish('ticks.prices', { symbol: 'ACME' }, i * 10);
    await harness.server.publish('ticks.prices', { symbol: 'OTHER' }, 999);
    await prices.until(5);
    expect(prices.got).toEqual([10, 20, 30, 40, 50]);
    expect(positions).toEqual([1, 2, 3, 4, 5]);
  });

  test('starts with the last N publications when asked', async () => {
    harness = await startHarness({}, {}, kind);
    for (let i = 1; i <= 10; i++) await harness.server.publish('ticks.prices', { symbol: 'X' }, i);
    const prices = collector();
    const sub = harness
      .client()
      .subscribe('ticks.prices', { symbol: 'X' }, (p) => prices.push(p), { from: { last: 3 } });
    await sub.ready;
    await prices.until(3);
    await harness.server.publish('ticks.prices', { symbol: 'X' }, 11);
    await prices.until(4);
    expect(prices.got).toEqual([8, 9, 10, 11]);
  });

  test('checks subscribe rules per parameter and publish permissions', async () => {
    harness = await startHarness({ auth: anonymous(['rooms:post']) }, {}, kind);
    const client = harness.client();
    const denied = client.subscribe('rooms.messages', { roomId: 'vault' }, () => {});
    await expect(denied.ready).rejects.toMatchObject({
      code: 'PERMISSION_DENIED',
      message: 'anonymous may not subscribe to rooms.messages with these parameters',
    });
    const texts: string[] = [];
    const lobby = client.subscribe('rooms.messages', { roomId: 'lobby' }, (m) => texts.push(m.text));
    await lobby.ready;
    expect(await client.publish('rooms.messages', { roomId: 'lobby' }, { text: 'hi' })).toMatchObject({
      offset: 1,
    });
    await expect.poll(() => texts).toEqual(['hi']);
    await expect(client.publish('ticks.prices', { symbol: 'A' }, 1)).rejects.toMatchObject({
      code: 'PERMISSION_DENIED',
      message: 'clients may not publish on ticks.prices',
    });
  });

  test('refuses unknown topics, bad parameters and bad payloads with typed errors', async () => {
    harness = await startHarness({ auth: anonymous(['*']) }, {}, kind);
    const client = harness.client();
    const unknown = client.subscribe('rooms.messages', { roomId: 'a.b' }, () => {});
    await expect(unknown.ready).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      message: 'rooms.messages: parameter "roomId" must be up to 128 chars without dots, braces or spaces',
    });
    await expect(
      client.publish('rooms.messages', { roomId: 'r' }, { text: 5 } as never),
    ).rejects.toMatchObject({
      code: 'INVALID_INPUT',
    });
    const peer = harness.raw();
    await peer.handshake();
    peer.send({ type: 'subscribe', id: 1, topic: 'nope.nothing', params: {} });
    expect(await peer.next()).toEqual({
      type: 'error',
      id: 1,
      code: 'UNKNOWN_TOPIC',
      message: 'unknown topic "nope.nothing"',
    });
    await expect(harness.server.publish('ticks.prices', { symbol: 'A' }, 'x' as never)).rejects.toMatchObject(
      {
        code: 'INVALID_INPUT',
      },
    );
  });

  test('resumes after a reconnect with everything missed, in order, each once', async () => {
    harness = await startHarness({}, {}, kind);
    const client = harness.client({ reconnect: { initialDelayMs: 20, maxDelayMs: 20 } });
    const prices = collector();
    const sub = client.subscribe('ticks.prices', { symbol: 'R' }, (p) => prices.push(p));
    await sub.ready;
    for (let i = 1; i <= 10; i++) await harness.server.publish('ticks.prices', { symbol: 'R' }, i);
    await prices.until(10);
    const reconnecting = new Promise<void>((resolve) =>
      client.onStateChange((s) => s === 'reconnecting' && resolve()),
    );
    harness.sockets[0]!.terminate();
    await reconnecting;
    for (let i = 11; i <= 60; i++) await harness.server.publish('ticks.prices', { symbol: 'R' }, i);
    await prices.until(60);
    for (let i = 61; i <= 70; i++) await harness.server.publish('ticks.prices', { symbol: 'R' }, i);
    await prices.until(70);
    expect(prices.got).toEqual(Array.from({ length: 70 }, (_, i) => i + 1));
  });

  test('unsubscribe stops delivery', async () => {
    harness = await startHarness({}, {}, kind);
    const client = harness.client();
    const prices = collector();
    const sub = client.subscribe('ticks.prices', { symbol: 'U' }, (p) => prices.push(p));
    await sub.ready;
    await harness.server.publish('ticks.prices', { symbol: 'U' }, 1);
    await prices.until(1);
    sub.unsubscribe();
    await expect
      .poll(() => harness.server.list()[0] && (harness.server.list()[0] as any).topics.size)
      .toBe(0);
    await harness.server.publish('ticks.prices', { symbol: 'U' }, 2);
    expect(await client.call('math.add', { a: 1, b: 1 })).toEqual({ sum: 2 });
    expect(prices.got).toEqual([1]);
  });
});

describe('recovery gaps', () => {
  test('says "trimmed" when history no longer covers what was missed, then delivers what is kept', async () => {
    harness = await startHarness({ broker: new MemoryBroker({ historySize: 5 }) });
    const client = harness.client({ reconnect: { initialDelayMs: 20, maxDelayMs: 20 } });
    const prices = collector();
    const gaps: Gap[] = [];
    const sub = client.subscribe('ticks.prices', { symbol: 'T' }, (p) => prices.push(p), {
      onGap: (g) => gaps.push(g),
    });
    await sub.ready;
    await harness.server.publish('ticks.prices', { symbol: 'T' }, 1);
    await prices.until(1);
    const reconnecting = new Promise<void>((resolve) =>
      client.onStateChange((s) => s === 'reconnecting' && resolve()),
    );
    harness.sockets[0]!.terminate();
    await reconnecting;
    for (let i = 2; i <= 20; i++) await harness.server.publish('ticks.prices', { symbol: 'T' }, i);
    await prices.until(6);
    expect(prices.got).toEqual([1, 16, 17, 18, 19, 20]);
    expect(gaps).toHaveLength(1);
    expect(gaps[0]!.reason).toBe('trimmed');
    expect(gaps[0]!.from?.offset).toBe(1);
    expect(gaps[0]!.resumedAt.offset).toBe(15);
  });

  test('says "epoch" when the broker lost its history', async () => {
    const broker = new MemoryBroker();
    harness = await startHarness({ broker });
    const client = harness.client({ reconnect: { initialDelayMs: 20, maxDelayMs: 20 } });
    const prices = collector();
    const gaps: Gap[] = [];
    const sub = client.subscribe('ticks.prices', { symbol: 'E' }, (p) => prices.push(p), {
      onGap: (g) => gaps.push(g),
    });
    await sub.ready;
    await harness.server.publish('ticks.prices', { symbol: 'E' }, 1);
    await harness.server.publish('ticks.prices', { symbol: 'E' }, 2);
    await prices.until(2);
    const reconnecting = new Promise<void>((resolve) =>
      client.onStateChange((s) => s === 'reconnecting' && resolve()),
    );
    harness.sockets[0]!.terminate();
    await reconnecting;
    broker.restart();
    await harness.server.publish('ticks.prices', { symbol: 'E' }, 100);
    await prices.until(3);
    expect(prices.got).toEqual([1, 2, 100]);
    expect(gaps.map((g) => g.reason)).toEqual(['epoch']);
    expect(gaps[0]!.resumedAt.epoch).not.toBe(gaps[0]!.from?.epoch);
  });

  test('a live subscriber hears "epoch" when the broker loses its history under it', async () => {
    const broker = new MemoryBroker();
    harness = await startHarness({ broker });
    const client = harness.client();
    const prices = collector();
    const gaps: Gap[] = [];
    const sub = client.subscribe('ticks.prices', { symbol: 'L' }, (p) => prices.push(p), {
      onGap: (g) => gaps.push(g),
    });
    await sub.ready;
    await harness.server.publish('ticks.prices', { symbol: 'L' }, 1);
    await harness.server.publish('ticks.prices', { symbol: 'L' }, 2);
    await prices.until(2);
    const before = sub.position!;
    broker.restart();
    await harness.server.publish('ticks.prices', { symbol: 'L' }, 100);
    await harness.server.publish('ticks.prices', { symbol: 'L' }, 101);
    await prices.until(4);
    expect(prices.got).toEqual([1, 2, 100, 101]);
    expect(before.offset).toBe(2);
    expect(gaps).toEqual([
      { reason: 'epoch', from: before, resumedAt: { epoch: sub.position!.epoch, offset: 0 } },
    ]);
    expect(sub.position!.epoch).not.toBe(before.epoch);
    expect(sub.position!.offset).toBe(2);
  });

  test('refuses subscriptions past maxSubscriptions with TOO_MANY_SUBSCRIPTIONS', async () => {
    harness = await startHarness({ limits: { maxSubscriptions: 2 } });
    const client = harness.client();
    await client.subscribe('ticks.prices', { symbol: 'A' }, () => {}).ready;
    await client.subscribe('ticks.prices', { symbol: 'B' }, () => {}).ready;
    await expect(client.subscribe('ticks.prices', { symbol: 'C' }, () => {}).ready).rejects.toMatchObject({
      code: 'TOO_MANY_SUBSCRIPTIONS',
      data: { limit: 2 },
    });
  });
});

describe('presence', () => {
  test('a presence topic tells followers who is there, and who joins and leaves', async () => {
    const users = ['ann', 'bob', 'carol'];
    let next = 0;
    harness = await startHarness({
      auth: { authenticate: () => ({ ok: true, principal: { id: users[next++]!, permissions: [] } }) },
    });
    const ann = harness.client();
    const bob = harness.client();
    await Promise.all([ann.ready(), bob.ready()]);
    const seen: string[] = [];
    const annRoom = ann.subscribe('rooms.messages', { roomId: 'lobby' }, () => {}, {
      onPresence: ({ change, member }) => seen.push(`${change}:${member.userId}`),
    });
    await annRoom.ready;
    expect([...annRoom.members.values()].map((m) => m.userId)).toEqual(['ann']);
    const bobRoom = bob.subscribe('rooms.messages', { roomId: 'lobby' }, () => {});
    await bobRoom.ready;
    expect([...bobRoom.members.values()].map((m) => m.userId).sort()).toEqual(['ann', 'bob']);
    await expect.poll(() => seen).toEqual(['join:bob']);
    expect(annRoom.members.get(bob.connectionId!)).toEqual({ connectionId: bob.connectionId, userId: 'bob' });
    bobRoom.unsubscribe();
    await expect.poll(() => seen).toEqual(['join:bob', 'leave:bob']);
    const carol = harness.client();
    await carol.ready();
    await carol.subscribe('rooms.messages', { roomId: 'lobby' }, () => {}).ready;
    await expect.poll(() => seen.length).toBe(3);
    harness.sockets[2]!.terminate();
    await expect.poll(() => seen.length).toBe(4);
    expect(seen.slice(2).map((entry) => entry.split(':')[0])).toEqual(['join', 'leave']);
    expect([...annRoom.members.values()].map((m) => m.userId)).toEqual(['ann']);
  });
});
