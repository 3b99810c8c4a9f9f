import { randomUUID } from 'node:crypto';
import { afterAll, expect, inject, test } from 'vitest';
import { RedisBroker } from '../../src/broker/redis.js';
import { type Client, createClient } from '../../src/client/index.js';
import { createServer, silentLogger } from '../../src/server/index.js';
import { testProtocol } from '../support/fixtures.js';
import { testHandlers } from '../support/harness.js';
import { ServerNodes } from '../support/redis-server-nodes.js';

const redisUrl = inject('redisUrl');
if (!redisUrl) throw new Error('these tests need a Redis: install redis-server or set REDIS_URL');

const nodes = new ServerNodes(redisUrl);
const clients: Client<typeof testProtocol>[] = [];
afterAll(() => {
  for (const client of clients) client.close();
  nodes.killAll();
});
const startNode = () => nodes.start();

test('two nodes on one Redis: a node killed mid-stream loses no publication for any subscriber', async () => {
  const [a, b] = await Promise.all([startNode(), startNode()]);
  const dead = new Set<number>();
  const symbol = `S${randomUUID().slice(0, 8)}`;
  const received: number[][] = [];
  const reconnected = new Set<number>();
  for (let i = 0; i < 50; i++) {
    // Half start on each node; after a node dies, every client reconnects to the one still alive.
    const preferred = i % 2 === 0 ? [a.port, b.port] : [b.port, a.port];
    const client = createClient({
      protocol: testProtocol,
      url: () => `ws://127.0.0.1:${preferred.find((port) => !dead.has(port))}`,
      reconnect: { initialDelayMs: 20, maxDelayMs: 200 },
    });
    clients.push(client);
    client.onStateChange((state) => state === 'reconnecting' && reconnected.add(i));
    const got: number[] = [];
    received.push(got);
    client.subscribe('ticks.prices', { symbol }, (price) => got.push(price), {
      onGap: (gap) => got.push(-1000 - gap.resumedAt.offset),
    });
  }
  await Promise.all(clients.map((client) => client.ready()));
  await expect
    .poll(() => clients.every((client) => (client as any).followed.size === 1), { timeout: 10_000 })
    .toBe(true);

  const publisher = new RedisBroker({ redis: redisUrl, historySize: 20_000 });
  await publisher.ready();
  const key = `ticks.${symbol}.price`;
  for (let n = 1; n <= 10_000; n += 100) {
    await Promise.all(Array.from({ length: 100 }, (_, i) => publisher.publish(key, n + i)));
    if (n === 5001) {
      a.process.kill('SIGKILL');
      dead.add(a.port);
    }
  }
  await publisher.close();

  await expect
    .poll(() => received.map((got) => got.length).reduce((x, y) => Math.min(x, y)), {
      timeout: 60_000,
      interval: 100,
    })
    .toBeGreaterThanOrEqual(10_000);
  const expected = Array.from({ length: 10_000 }, (_, i) => i + 1);
  for (const got of received) expect(got).toEqual(expected);
  // Exactly the 25 clients that started on the killed node went through a reconnect.
  expect([...reconnected].sort((x, y) => x - y)).toEqual(Array.from({ length: 25 }, (_, i) => i * 2));
  expect(clients.every((client) => client.state === 'open')).toBe(true);
}, 120_000);

test('a push to a user reaches that user on every node sharing the Redis broker', async () => {
  const start = async () => {
    const broker = new RedisBroker({ redis: redisUrl });
    await broker.ready();
    const users = ['ann', 'bob'];
    let next = 0;
    const server = await createServer({
      protocol: testProtocol,
      handlers: testHandlers(),
      port: 0,
      host: '127.0.0.1',
      broker,
      logger: silentLogger,
      auth: { authenticate: () => ({ ok: true, principal: { id: users[next++ % 2]!, permissions: [] } }) },
    });
    return { server, broker };
  };
  const [nodeA, nodeB] = [await start(), await start()];
  try {
    const connect = async (port: number) => {
      const client = createClient({
        protocol: testProtocol,
        url: `ws://127.0.0.1:${port}`,
        reconnect: false,
      });
      clients.push(client);
      await client.ready();
      return client;
    };
    const annOnA = await connect(nodeA.server.port!);
    const bobOnA = await connect(nodeA.server.port!);
    const annOnB = await connect(nodeB.server.port!);
    expect([annOnA.principal?.id, bobOnA.principal?.id, annOnB.principal?.id]).toEqual(['ann', 'bob', 'ann']);
    const got: string[] = [];
    annOnA.on('logs.appended', (p) => got.push(`A:${p.line}`));
    annOnB.on('logs.appended', (p) => got.push(`B:${p.line}`));
    bobOnA.on('logs.appended', (p) => got.push(`bob:${p.line}`));
    // Node B must be listening for ann before the push; its subscription is set up at her connect.
    await expect.poll(() => (nodeB.server as any).userFeeds.size).toBe(1);
    await (nodeB.server as any).userFeeds.get('ann');
    expect(nodeA.server.pushToUser('ann', 'logs.appended', { line: 'hello ann' })).toBe(1);
    await expect.poll(() => got.sort()).toEqual(['A:hello ann', 'B:hello ann']);
  } finally {
    await nodeA.server.close({ graceMs: 10 });
    await nodeB.server.close({ graceMs: 10 });
    await nodeA.broker.close();
    await nodeB.broker.close();
  }
});
