import { randomUUID } from 'node:crypto';
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

test('a key that a promoted replica serves with fewer writes than its subscribers saw begins a new epoch: they are told, never handed its offsets again', async () => {
  const [publisher, subscriber] = [await make(), await make()];
  const key = `cluster.rollback.${randomUUID()}`;
  const heard: unknown[] = [];
  await subscriber.subscribe(key, (p) => heard.push([p.epoch, p.offset, p.payload]), {
    onGap: (gap) => heard.push(gap),
  });
  const told = [];
  for (let n = 1; n <= 5; n++) told.push(await publisher.publish(key, n));
  await expect.poll(() => heard.length).toBe(5);
  // What a replica promoted before it received writes 4 and 5 holds: their offsets are free again,
  // and its replication id is not the one that began the epoch.
  await raw.set(`sb:{${key}}:seq`, 3);
  const log = `sb:{${key}}:log`;
  const kept = await raw.xrangeBuffer(log, '0-1', '0-3');
  await raw.del(log);
  for (const [id, fields] of kept) await raw.xadd(log, id, ...fields);
  await raw.set(`sb:{${key}}:owner`, 'a-primary-that-died');
  const next = await publisher.publish(key, 6);
  expect(next.epoch).not.toBe(told[0]!.epoch);
  expect(next.offset).toBe(1);
  await expect.poll(() => heard.length).toBe(7);
  expect(heard.slice(5)).toEqual([
    {
      reason: 'epoch',
      from: { epoch: told[0]!.epoch, offset: 5 },
      resumedAt: { epoch: next.epoch, offset: 0 },
    },
    [next.epoch, 1, 6],
  ]);
  await Promise.all([publisher.close(), subscriber.close()]);
});

test('idempotency store on a cluster: a claim, a second claim that finds it running, the outcome, a release that keeps it', async () => {
  const [one, other] = [await make(), await make()];
  // Keys of (almost surely) twelve slots, on every shard.
  const keys = Array.from({ length: 12 }, (_, i) => `user-${i}:call:${randomUUID()}`);
  for (const key of keys) {
    expect(await one.idempotency!.claim(key, 60_000)).toEqual({ state: 'claimed' });
    expect(await other.idempotency!.claim(key, 60_000)).toEqual({ state: 'running' });
    await one.idempotency!.complete(key, { ok: true, output: { key } }, 60_000);
    await other.idempotency!.release(key);
    expect(await other.idempotency!.claim(key, 60_000)).toEqual({
      state: 'done',
      outcome: { ok: true, output: { key } },
    });
  }
  await Promise.all([one.close(), other.close()]);
});
