import { randomUUID } from 'node:crypto';
import { afterAll, expect, inject, test } from 'vitest';
import type { Publication } from '../../src/broker/broker.js';
import { RedisBroker } from '../../src/broker/redis.js';
import { type Client, createClient, type Gap } from '../../src/client/index.js';
import { testProtocol } from '../support/fixtures.js';
import { primaryOf, RedisCluster } from '../support/redis-cluster.js';
import { ServerNodes } from '../support/redis-server-nodes.js';

const shared = inject('redisClusterUrls');
if (!shared.length)
  throw new Error('these tests need a Redis Cluster: install redis-server or set REDIS_CLUSTER_URLS');

const clients: Client<typeof testProtocol>[] = [];
const servers: ServerNodes[] = [];
const clusters: RedisCluster[] = [];
afterAll(async () => {
  for (const client of clients) client.close();
  for (const nodes of servers) nodes.killAll();
  for (const cluster of clusters) await cluster.stop();
});

type Heard = number | { gap: Gap };

/** Three symbols whose topic keys (`ticks.<symbol>.price`) live on three different primaries. */
async function symbolsOnEveryShard(urls: string[]): Promise<{ symbols: string[]; primaries: number[] }> {
  const port = Number(new URL(urls[0]!).port);
  const byPrimary = new Map<number, string>();
  const base = `S${randomUUID().slice(0, 8)}`;
  for (let i = 0; byPrimary.size < 3; i++) {
    const primary = await primaryOf(port, `ticks.${base}${i}.price`);
    if (!byPrimary.has(primary)) byPrimary.set(primary, `${base}${i}`);
  }
  return { symbols: [...byPrimary.values()], primaries: [...byPrimary.keys()] };
}

/**
 * Two server nodes on a cluster, 50 subscribers over three topics (one per shard), 10,000
 * publications; at publication 5,000 `fault` strikes. Resolves with what each subscriber heard and
 * what the publisher was told was published, per topic key.
 */
async function run(
  urls: string[],
  fault: (at: { nodeA: () => void; doomedPrimary: number }) => Promise<void>,
) {
  const nodes = new ServerNodes(`cluster:${urls.join(',')}`);
  servers.push(nodes);
  const [a, b] = await Promise.all([nodes.start(), nodes.start()]);
  const dead = new Set<number>();
  const { symbols, primaries } = await symbolsOnEveryShard(urls);
  const keys = symbols.map((symbol) => `ticks.${symbol}.price`);
  const heard: Heard[][] = [];
  const mine: Client<typeof testProtocol>[] = [];
  for (let i = 0; i < 50; i++) {
    const preferred = i % 2 === 0 ? [a.port, b.port] : [b.port, a.port];
    const client = createClient({
      protocol: testProtocol,
      url: () => `ws://127.0.0.1:${preferred.find((port) => !dead.has(port))}`,
      reconnect: { initialDelayMs: 20, maxDelayMs: 200 },
    });
    mine.push(client);
    const got: Heard[] = [];
    heard.push(got);
    client.subscribe('ticks.prices', { symbol: symbols[i % 3]! }, (price) => got.push(price), {
      onGap: (gap) => got.push({ gap }),
    });
  }
  clients.push(...mine);
  await Promise.all(mine.map((client) => client.ready()));
  await expect
    .poll(() => mine.every((client) => (client as any).followed.size === 1), { timeout: 10_000 })
    .toBe(true);

  const publisher = new RedisBroker({ cluster: { nodes: urls }, historySize: 20_000, commandTimeoutMs: 500 });
  await publisher.ready();
  const published = new Map<string, Publication[]>(keys.map((key) => [key, []]));
  // A publish that failed (its shard failing over) was never published: try it again until it is.
  const publish = async (n: number) => {
    const key = keys[n % 3]!;
    for (const deadline = Date.now() + 20_000; ; ) {
      try {
        published.get(key)!.push(await publisher.publish(key, n));
        return;
      } catch (error) {
        if (Date.now() > deadline) throw error;
      }
    }
  };
  for (let n = 1; n <= 10_000; n += 100) {
    await Promise.all(Array.from({ length: 100 }, (_, i) => publish(n + i)));
    if (n === 4901)
      await fault({
        nodeA: () => {
          a.process.kill('SIGKILL');
          dead.add(a.port);
        },
        doomedPrimary: primaries[0]!,
      });
  }
  await publisher.close();
  // In publication order: by epoch (as first told), then offset.
  const epochs = new Map<string, number>();
  for (const list of published.values())
    for (const { epoch } of list) if (!epochs.has(epoch)) epochs.set(epoch, epochs.size);
  for (const list of published.values())
    list.sort((x, y) => epochs.get(x.epoch)! - epochs.get(y.epoch)! || x.offset - y.offset);
  const lastOf = keys.map((key) => published.get(key)!.at(-1)!.payload);
  await expect
    .poll(() => heard.every((got, i) => got.at(-1) === lastOf[i % 3]), { timeout: 60_000, interval: 100 })
    .toBe(true);
  return { keys, heard, published };
}

test('two nodes on a Redis Cluster, topics on all three shards: a node SIGKILLed mid-stream loses no publication for any subscriber', async () => {
  const { keys, heard, published } = await run(shared, async ({ nodeA }) => nodeA());
  for (const [i, got] of heard.entries())
    expect(got).toEqual(published.get(keys[i % 3]!)!.map((publication) => publication.payload));
}, 120_000);

test('two nodes on a Redis Cluster: a primary SIGKILLed mid-stream costs its topic one epoch gap naming where each subscriber was; other shards lose nothing', async () => {
  const cluster = await RedisCluster.start();
  clusters.push(cluster);
  const { keys, heard, published } = await run(cluster.urls, ({ doomedPrimary }) =>
    cluster.kill(doomedPrimary),
  );
  const [doomed] = keys;
  const told = published.get(doomed!)!;
  const [before, after] = [
    told.filter((p) => p.epoch === told[0]!.epoch),
    told.filter((p) => p.epoch !== told[0]!.epoch),
  ];
  expect(after.length).toBeGreaterThan(0);
  expect(new Set(after.map((p) => p.epoch)).size).toBe(1);
  for (const [i, got] of heard.entries()) {
    if (i % 3 !== 0) {
      expect(got).toEqual(published.get(keys[i % 3]!)!.map((publication) => publication.payload));
      continue;
    }
    // Every publication up to where it was, one gap from there, then every later one.
    const gapAt = got.findIndex((each) => typeof each === 'object');
    const gap = (got[gapAt] as { gap: Gap }).gap;
    expect(gap).toMatchObject({
      reason: 'epoch',
      from: { epoch: before[0]!.epoch, offset: gapAt },
      resumedAt: { epoch: after[0]!.epoch, offset: 0 },
    });
    expect(got).toEqual([
      ...before.slice(0, gapAt).map((p) => p.payload),
      { gap },
      ...after.map((p) => p.payload),
    ]);
  }
}, 120_000);
