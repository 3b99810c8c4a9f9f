import { afterAll, expect, test } from 'vitest';
import type { BrokerGap, Position, Publication } from '../../src/broker/broker.js';
import { RedisBroker } from '../../src/broker/redis.js';
import type { Gap } from '../../src/client/subscription.js';
import { startHarness } from '../support/harness.js';
import { RedisProcess } from '../support/redis-process.js';

let redis: RedisProcess | undefined;
const brokers: RedisBroker[] = [];
afterAll(async () => {
  for (const broker of brokers) await broker.close();
  await redis?.kill();
});

/** What a live listener saw, in order: publications and gaps. */
type Seen = { publication: [string, number, unknown] } | { gap: BrokerGap };

test('a live subscriber across a Redis restart gets exactly one epoch gap, then the new epoch in order', async () => {
  redis = await RedisProcess.start();
  const publisher = new RedisBroker({ redis: redis.url });
  const thrown: string[] = [];
  const follower = new RedisBroker({
    redis: { port: redis.port, host: '127.0.0.1', retryStrategy: () => 50 },
    onListenerError: (error) => thrown.push((error as Error).message),
  });
  brokers.push(publisher, follower);
  await Promise.all([publisher.ready(), follower.ready()]);
  const seen: Seen[] = [];
  // Listed first, so that a throw would stop the others if listeners were not isolated.
  await follower.subscribe(
    'restart.k',
    () => {
      throw new Error('publication');
    },
    {
      onGap: () => {
        throw new Error('gap');
      },
    },
  );
  await follower.subscribe(
    'restart.k',
    (p: Publication) => seen.push({ publication: [p.epoch, p.offset, p.payload] }),
    { onGap: (gap) => seen.push({ gap }) },
  );
  const old = [];
  for (let i = 1; i <= 3; i++) old.push(await publisher.publish('restart.k', `old ${i}`));
  await expect.poll(() => seen.length).toBe(3);

  await redis.kill();
  await redis.restart();
  const fresh: Publication[] = [];
  await expect
    .poll(
      async () =>
        publisher.publish('restart.k', 'new 1').then(
          (p) => fresh.push(p) > 0,
          () => false,
        ),
      { timeout: 10_000, interval: 100 },
    )
    .toBe(true);
  for (let i = 2; i <= 4; i++) fresh.push(await publisher.publish('restart.k', `new ${i}`));
  await expect.poll(() => seen.length, { timeout: 10_000 }).toBe(3 + 1 + 4);

  expect(thrown).toEqual([
    'publication',
    'publication',
    'publication',
    'gap',
    ...Array(4).fill('publication'),
  ]);
  const [epoch1, epoch2] = [old[0]!.epoch, fresh[0]!.epoch];
  expect(epoch2).not.toBe(epoch1);
  expect(fresh.map((p) => p.offset)).toEqual([1, 2, 3, 4]);
  expect(seen).toEqual([
    { publication: [epoch1, 1, 'old 1'] },
    { publication: [epoch1, 2, 'old 2'] },
    { publication: [epoch1, 3, 'old 3'] },
    { gap: { reason: 'epoch', from: { epoch: epoch1, offset: 3 }, resumedAt: { epoch: epoch2, offset: 0 } } },
    { publication: [epoch2, 1, 'new 1'] },
    { publication: [epoch2, 2, 'new 2'] },
    { publication: [epoch2, 3, 'new 3'] },
    { publication: [epoch2, 4, 'new 4'] },
  ]);
}, 30_000);

test('a client subscribed over ws across a Redis restart hears one epoch gap, then the new epoch in order', async () => {
  const server = await RedisProcess.start();
  const broker = new RedisBroker({
    redis: { port: server.port, host: '127.0.0.1', retryStrategy: () => 50 },
  });
  brokers.push(broker);
  const harness = await startHarness({ broker }, {}, 'ws');
  try {
    const client = harness.client();
    const got: Array<[number, Position]> = [];
    const gaps: Gap[] = [];
    const sub = client.subscribe(
      'ticks.prices',
      { symbol: 'R' },
      (price, position) => got.push([price, position]),
      {
        onGap: (gap) => gaps.push(gap),
      },
    );
    await sub.ready;
    await harness.server.publish('ticks.prices', { symbol: 'R' }, 1);
    await harness.server.publish('ticks.prices', { symbol: 'R' }, 2);
    await expect.poll(() => got.length).toBe(2);
    const before = got[1]![1];

    await server.kill();
    await server.restart();
    await expect
      .poll(
        () =>
          harness.server.publish('ticks.prices', { symbol: 'R' }, 100).then(
            () => true,
            () => false,
          ),
        { timeout: 10_000, interval: 100 },
      )
      .toBe(true);
    await harness.server.publish('ticks.prices', { symbol: 'R' }, 101);
    await expect.poll(() => got.length, { timeout: 10_000 }).toBe(4);

    const after = got[2]![1];
    expect(after.epoch).not.toBe(before.epoch);
    expect(got.map(([price, position]) => [price, position.offset])).toEqual([
      [1, 1],
      [2, 2],
      [100, 1],
      [101, 2],
    ]);
    expect(gaps).toEqual([{ reason: 'epoch', from: before, resumedAt: { epoch: after.epoch, offset: 0 } }]);
  } finally {
    await harness.close();
    await server.kill();
  }
}, 30_000);
