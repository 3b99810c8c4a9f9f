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

/** Moves `key`'s slot from its primary to another, key by key (MIGRATE), as `redis-cli --cluster reshard` does. */
async function moveSlotOf(key: string, to: number): Promise<void> {
  const from = await cluster.primaryOf(key);
  const slot = (await cluster.cli(from, 'cluster', 'keyslot', key)).trim();
  const [fromId, toId] = await Promise.all(
    [from, to].map(async (port) => (await cluster.cli(port, 'cluster', 'myid')).trim()),
  );
  await cluster.cli(to, 'cluster', 'setslot', slot, 'importing', fromId!);
  await cluster.cli(from, 'cluster', 'setslot', slot, 'migrating', toId!);
  for (;;) {
    const keys = (await cluster.cli(from, 'cluster', 'getkeysinslot', slot, '100'))
      .split('\n')
      .filter(Boolean);
    if (!keys.length) break;
    await cluster.cli(from, 'migrate', '127.0.0.1', String(to), '', '0', '5000', 'keys', ...keys);
  }
  for (const port of [to, from]) await cluster.cli(port, 'cluster', 'setslot', slot, 'node', toId!);
}

test('a slot moved to another primary while publishing: every publish follows it (MOVED) and succeeds; its subscribers get every publication up to where they were, one epoch gap, then every later one', async () => {
  const key = 'reshard.moving';
  const from = await cluster.primaryOf(key);
  const to =
    (await cluster.primaryOf('failover.doomed')) === from
      ? await cluster.primaryOf('reshard.x1')
      : await cluster.primaryOf('failover.doomed');
  expect(to).not.toBe(from);
  const [publisher, subscriber] = [await broker(), await broker()];
  const heard: Heard[] = [];
  await subscriber.subscribe(key, (publication) => heard.push({ publication }), {
    onGap: (gap) => heard.push({ gap }),
  });
  const told: Publication[] = [];
  let moving = true;
  let n = 0;
  const failures: unknown[] = [];
  const publishing = (async () => {
    while (moving || n < 400) {
      try {
        told.push(await publisher.publish(key, ++n));
      } catch (error) {
        failures.push(error);
      }
    }
  })();
  await expect.poll(() => told.length, { timeout: 10_000 }).toBeGreaterThan(100);
  await moveSlotOf(key, to);
  moving = false;
  await publishing;
  expect(await cluster.primaryOf(key)).toBe(to);
  expect(failures).toEqual([]);
  const epochs = [...new Set(told.map((p) => p.epoch))];
  const last = told.at(-1)!;
  await expect
    .poll(
      () =>
        heard.at(-1)?.publication?.offset === last.offset && heard.at(-1)?.publication?.epoch === last.epoch,
      { timeout: 10_000 },
    )
    .toBe(true);
  // The new primary's replication id differs from the key's owner: a new epoch (see docs/topics.md).
  expect(epochs.length).toBe(2);
  const gapAt = heard.findIndex((each) => each.gap);
  const [before, after] = [
    told.filter((p) => p.epoch === epochs[0]),
    told.filter((p) => p.epoch === epochs[1]),
  ];
  expect(heard).toEqual([
    ...before.slice(0, gapAt).map((publication) => ({ publication })),
    {
      gap: {
        reason: 'epoch',
        from: { epoch: epochs[0], offset: gapAt },
        resumedAt: { epoch: epochs[1], offset: 0 },
      },
    },
    ...after.map((publication) => ({ publication })),
  ]);
}, 60_000);

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
