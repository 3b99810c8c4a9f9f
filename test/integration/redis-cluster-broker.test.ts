import { Redis } from 'ioredis';
import { afterAll, expect, inject, test } from 'vitest';
import { RedisBroker } from '../../src/broker/redis.js';
import { brokerConformance } from '../broker/conformance.js';

const nodes = inject('redisClusterUrls');
if (!nodes.length)
  throw new Error(
    'these tests need a Redis Cluster: install redis-server (apt-get install redis-server) or set REDIS_CLUSTER_URLS',
  );

async function make(historySize?: number, gzip = false) {
  const broker = new RedisBroker({ cluster: { nodes }, historySize, gzip });
  await broker.ready();
  return broker;
}

const raw = new Redis.Cluster(nodes);
afterAll(() => raw.disconnect());
/** What losing a shard's data does to one key: its epoch, offsets and stream are gone. */
const loseHistory = async (_broker: unknown, key: string) => {
  await raw.del(...['epoch', 'seq', 'log', 'owner'].map((part) => `sb:{${key}}:${part}`));
};

brokerConformance('redis cluster', {
  make: (historySize) => make(historySize),
  peer: () => make(),
  loseHistory,
});
brokerConformance('redis cluster (gzip)', {
  make: (historySize) => make(historySize, true),
  peer: () => make(undefined, true),
  loseHistory,
});

test('every key of a topic lives in the slot of its hash tag, and its publications travel by sharded pub/sub', async () => {
  const broker = await make();
  const key = 'cluster.layout';
  await broker.publish(key, 'one');
  await broker.join(key, { connectionId: 'c1', userId: 'u1' }, 60_000);
  const slot = await raw.cluster('KEYSLOT', key);
  const parts = ['epoch', 'seq', 'log', 'owner', 'presence', 'members'];
  const slots = await Promise.all(parts.map((part) => raw.cluster('KEYSLOT', `sb:{${key}}:${part}`)));
  expect(slots).toEqual(parts.map(() => slot));
  expect(await Promise.all(parts.map((part) => raw.exists(`sb:{${key}}:${part}`)))).toEqual(
    parts.map(() => 1),
  );
  // Subscribed on its shard only, by SSUBSCRIBE: no node has a classic (cluster-wide) subscriber.
  await broker.subscribe(key, () => {});
  const channel = `sb:{${key}}:pub`;
  const counts = await Promise.all(
    raw.nodes('master').map(async (node) => ({
      sharded: Number(((await node.call('PUBSUB', 'SHARDNUMSUB', channel)) as [string, number])[1]),
      classic: Number(((await node.call('PUBSUB', 'NUMSUB', channel)) as [string, number])[1]),
    })),
  );
  expect(counts.reduce((sum, each) => sum + each.sharded, 0)).toBe(1);
  expect(counts.reduce((sum, each) => sum + each.classic, 0)).toBe(0);
  await broker.close();
});

test('a key that would make an empty hash tag is refused on a cluster, before any write', async () => {
  const broker = await make();
  await expect(broker.publish('}odd', 'x')).rejects.toThrow(
    'redis publish failed: on a Redis Cluster a key may not be empty or begin with `}`',
  );
  await expect(broker.subscribe('', () => {})).rejects.toThrow(
    'on a Redis Cluster a key may not be empty or begin with `}`',
  );
  await broker.close();
});

test('options name exactly one of `redis` and `cluster`', () => {
  expect(() => new RedisBroker({})).toThrow(
    new TypeError('RedisBroker needs exactly one of `redis` and `cluster`'),
  );
  expect(() => new RedisBroker({ cluster: { nodes }, prefix: 'sb{x}:' })).toThrow(
    new TypeError('on a Redis Cluster the key prefix may not contain `{` or `}` (hash tags)'),
  );
});
