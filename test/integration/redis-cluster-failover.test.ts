import { afterAll, beforeAll, expect, inject, test } from 'vitest';
import { BrokerError, type BrokerGap, type Publication } from '../../src/broker/broker.js';
import { RedisBroker } from '../../src/broker/redis.js';
import { RedisCluster } from '../support/redis-cluster.js';

// Killing a node would break the shared cluster for other files: this file starts its own.
if (!inject('redisClusterUrls').length)
  throw new Error('these tests need a Redis Cluster: install redis-server (apt-get install redis-server)');

let cluster: RedisCluster;
const brokers: RedisBroker[] = [];
beforeAll(async () => {
  cluster = await RedisCluster.start();
}, 30_000);
afterAll(async () => {
  for (const broker of brokers) await broker.close();
  await cluster.stop();
});

async function broker(): Promise<RedisBroker> {
  const made = new RedisBroker({ cluster: { nodes: cluster.urls }, commandTimeoutMs: 500 });
  brokers.push(made);
  await made.ready();
  return made;
}

/** Two keys whose slots are served by different primaries. */
async function keysOnTwoShards(): Promise<{ doomed: string; spared: string; primary: number }> {
  const doomed = 'failover.doomed';
  const primary = await cluster.primaryOf(doomed);
  for (let i = 0; ; i++) {
    const spared = `failover.spared.${i}`;
    if ((await cluster.primaryOf(spared)) !== primary) return { doomed, spared, primary };
  }
}

type Heard = { publication?: Publication; gap?: BrokerGap };

test('a primary SIGKILLed under publishing: publishes fail with a BrokerError until its replica takes over; its subscribers get one epoch gap, then every later publication; other shards lose nothing', async () => {
  const { doomed, spared, primary } = await keysOnTwoShards();
  const [publisher, subscriber] = [await broker(), await broker()];
  const heard = new Map<string, Heard[]>([
    [doomed, []],
    [spared, []],
  ]);
  for (const [key, list] of heard)
    await subscriber.subscribe(key, (publication) => list.push({ publication }), {
      onGap: (gap) => list.push({ gap }),
    });

  const acknowledged = new Map<string, Publication[]>([
    [doomed, []],
    [spared, []],
  ]);
  const publishBoth = async (n: number) => {
    for (const key of [doomed, spared]) acknowledged.get(key)!.push(await publisher.publish(key, n));
  };
  for (let n = 1; n <= 100; n++) await publishBoth(n);
  const before = acknowledged.get(doomed)![99]!;

  await cluster.kill(primary);
  // Publish until the doomed key's shard answers again; every failure is a BrokerError.
  const failures: unknown[] = [];
  let n = 101;
  for (const deadline = Date.now() + 15_000; ; n++) {
    if (Date.now() > deadline)
      throw new Error(`no publish succeeded after the kill (${failures.length} failed)`);
    try {
      acknowledged.get(doomed)!.push(await publisher.publish(doomed, n));
      break;
    } catch (error) {
      failures.push(error);
    }
  }
  expect(failures.length).toBeGreaterThan(0);
  expect(failures.every((error) => error instanceof BrokerError)).toBe(true);
  for (let m = n + 1; m < n + 50; m++) await publishBoth(m);

  const after = acknowledged.get(doomed)!;
  const resumed = after[100]!;
  // Served by the promoted replica: a new epoch, whether or not it had every write.
  expect(resumed.epoch).not.toBe(before.epoch);
  expect(resumed.offset).toBe(1);
  expect(after.slice(100).map((p) => [p.epoch, p.offset])).toEqual(
    after.slice(100).map((_, i) => [resumed.epoch, i + 1]),
  );

  await expect.poll(() => heard.get(doomed)!.length, { timeout: 10_000 }).toBe(after.length + 1);
  expect(heard.get(doomed)).toEqual([
    ...after.slice(0, 100).map((publication) => ({ publication })),
    {
      gap: {
        reason: 'epoch',
        from: { epoch: before.epoch, offset: 100 },
        resumedAt: { epoch: resumed.epoch, offset: 0 },
      },
    },
    ...after.slice(100).map((publication) => ({ publication })),
  ]);
  // The other shard's key never moved: every publication once, in order, one epoch, no gap.
  const spareds = acknowledged.get(spared)!;
  await expect.poll(() => heard.get(spared)!.length, { timeout: 10_000 }).toBe(spareds.length);
  expect(heard.get(spared)).toEqual(spareds.map((publication) => ({ publication })));
  expect(new Set(spareds.map((p) => p.epoch)).size).toBe(1);
}, 60_000);
