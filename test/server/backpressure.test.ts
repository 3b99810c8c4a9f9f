import { afterEach, describe, expect, test } from 'vitest';
import { z } from 'zod';
import type { Gap } from '../../src/client/index.js';
import { type Client, createClient } from '../../src/client/index.js';
import { defineProtocol, topic } from '../../src/protocol/index.js';
import { anonymous, createServer, type Server, silentLogger } from '../../src/server/index.js';
import { type MemoryTransport, memoryTransport } from '../../src/transport/memory.js';
import { until } from '../support/harness.js';

const Tick = z.object({ symbol: z.string(), n: z.number() });
const market = defineProtocol({
  name: 'market',
  version: '1.0.0',
  resources: {
    feed: {
      topics: {
        raw: topic({ pattern: 'feed.raw', payload: Tick }),
        recent: topic({
          pattern: 'feed.recent',
          payload: Tick,
          backpressure: { policy: 'drop-oldest', limit: 50 },
        }),
        prices: topic({
          pattern: 'feed.prices',
          payload: Tick,
          backpressure: { policy: 'latest-by-key', key: (tick: { symbol: string }) => tick.symbol },
        }),
      },
    },
  },
});

type TopicName = 'feed.raw' | 'feed.recent' | 'feed.prices';
const TOTAL = 5000;
const SYMBOLS = ['AAPL', 'MSFT', 'NVDA', 'TSLA'];

let server: Server<typeof market>;
let transport: MemoryTransport;
const clients: Client<typeof market>[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await server?.close({ graceMs: 10 });
});

async function start(maxBufferedBytes = 8 * 1024 * 1024) {
  transport = memoryTransport();
  server = await createServer({
    protocol: market,
    handlers: {},
    transport: transport.server,
    auth: anonymous([]),
    logger: silentLogger,
    limits: { backpressureBytes: 2048, maxBufferedBytes },
  });
}

/** Subscribes a new client; returns what it received and the gaps it was told about. */
async function follower(name: TopicName) {
  const client = createClient({
    protocol: market,
    url: 'memory://market',
    connect: transport.connect,
    reconnect: false,
  });
  clients.push(client);
  const socket = transport.clientSockets.at(-1)!;
  const received: { symbol: string; n: number }[] = [];
  const gaps: Gap[] = [];
  const closed: number[] = [];
  client.onStateChange((state, detail) => state === 'closed' && closed.push(detail?.code ?? 0));
  const subscription = client.subscribe(name, {}, (tick) => received.push(tick), {
    onGap: (gap) => gaps.push(gap),
  });
  await subscription.ready;
  return { client, socket, received, gaps, closed };
}

async function publishAll(name: TopicName) {
  for (let n = 1; n <= TOTAL; n++) {
    await server.publish(name, {}, { symbol: SYMBOLS[n % SYMBOLS.length]!, n });
  }
}

describe('per-topic back-pressure while one client is paused', () => {
  test('drop-oldest: the others get everything, the slow one holds at most 50 and is told what it missed', async () => {
    await start();
    const fast = [await follower('feed.recent'), await follower('feed.recent')];
    const slow = await follower('feed.recent');
    slow.socket.pause();
    let peakHeld = 0;
    const slowId = slow.client.connectionId!;
    for (let n = 1; n <= TOTAL; n++) {
      await server.publish('feed.recent', {}, { symbol: 'X', n });
      peakHeld = Math.max(peakHeld, server.backlog(slowId)!.heldPublications);
    }
    await until(() => fast.every((f) => f.received.length === TOTAL), 5000, 'the fast clients');
    for (const f of fast)
      expect(f.received.map((t) => t.n)).toEqual(Array.from({ length: TOTAL }, (_, i) => i + 1));
    expect(peakHeld).toBe(50);
    expect(server.backlog(slowId)!.bufferedBytes).toBeLessThan(4096);
    slow.socket.resume();
    await until(() => slow.received.at(-1)?.n === TOTAL, 5000, 'the slow client to catch up');
    const got = slow.received.map((t) => t.n);
    // What reached its socket before it fell behind, then exactly the newest 50.
    const early = got.length - 50;
    expect(got).toEqual([
      ...Array.from({ length: early }, (_, i) => i + 1),
      ...Array.from({ length: 50 }, (_, i) => TOTAL - 49 + i),
    ]);
    expect(slow.gaps).toEqual([
      {
        reason: 'dropped',
        from: expect.objectContaining({ offset: early }),
        resumedAt: expect.objectContaining({ offset: TOTAL - 49 }),
        missed: TOTAL - 50 - early,
      },
    ]);
    expect(slow.closed).toEqual([]);
  });

  test('latest-by-key: the slow one gets only the newest value of each symbol, in offset order', async () => {
    await start();
    const fast = await follower('feed.prices');
    const slow = await follower('feed.prices');
    slow.socket.pause();
    await publishAll('feed.prices');
    await until(() => fast.received.length === TOTAL, 5000, 'the fast client');
    expect(server.backlog(slow.client.connectionId!)!.heldPublications).toBe(SYMBOLS.length);
    slow.socket.resume();
    await until(() => slow.received.at(-1)?.n === TOTAL, 5000, 'the slow client to catch up');
    const late = slow.received.slice(slow.received.length - SYMBOLS.length).map((t) => t.n);
    expect(late).toEqual([TOTAL - 3, TOTAL - 2, TOTAL - 1, TOTAL]);
    // Before it fell behind it got every tick in order; after, nothing superseded.
    const early = slow.received.length - SYMBOLS.length;
    expect(early).toBeGreaterThan(0);
    expect(slow.received.slice(0, early).map((t) => t.n)).toEqual(
      Array.from({ length: early }, (_, i) => i + 1),
    );
    expect(slow.gaps).toEqual([]);
  });

  test('disconnect (the default): the slow one is closed with 4201 once over maxBufferedBytes, the others carry on', async () => {
    await start(64 * 1024);
    const fast = await follower('feed.raw');
    const slow = await follower('feed.raw');
    slow.socket.pause();
    await publishAll('feed.raw');
    await until(() => fast.received.length === TOTAL, 5000, 'the fast client');
    expect(server.list().map((c) => c.id)).toEqual([fast.client.connectionId]);
    slow.socket.resume();
    await until(() => slow.closed.length === 1, 3000, 'the slow client to see its close');
    expect(slow.closed).toEqual([4201]);
  });
});
