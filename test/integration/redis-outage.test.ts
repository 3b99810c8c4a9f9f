import { afterAll, expect, test } from 'vitest';
import type { Publication } from '../../src/broker/broker.js';
import { RedisBroker } from '../../src/broker/redis.js';
import { RedisProcess } from '../support/redis-process.js';

let redis: RedisProcess | undefined;
afterAll(() => redis?.kill());

test('while Redis is down publishes fail with a BrokerError; subscribers resume when it is back', async () => {
  redis = await RedisProcess.start();
  const publisher = new RedisBroker({ redis: redis.url });
  const follower = new RedisBroker({
    redis: { port: redis.port, host: '127.0.0.1', retryStrategy: () => 50 },
  });
  await Promise.all([publisher.ready(), follower.ready()]);
  const seen: Publication[] = [];
  await follower.subscribe('outage.k', (p) => seen.push(p));
  const before = await publisher.publish('outage.k', 'before');
  await expect.poll(() => seen.map((p) => p.payload)).toEqual(['before']);

  await redis.kill();
  await expect(publisher.publish('outage.k', 'lost')).rejects.toMatchObject({ name: 'BrokerError' });

  await redis.restart();
  // The restarted Redis has no data: the next publish opens a new epoch, and the follower gets it.
  await expect
    .poll(
      async () =>
        publisher.publish('outage.k', 'after').then(
          () => true,
          () => false,
        ),
      { timeout: 10_000, interval: 100 },
    )
    .toBe(true);
  await expect.poll(() => seen.map((p) => p.payload), { timeout: 10_000 }).toContain('after');
  const after = seen.find((p) => p.payload === 'after')!;
  expect(after.epoch).not.toBe(before.epoch);
  expect(after.offset).toBe(1);
  expect(seen.filter((p) => p.payload === 'lost')).toEqual([]);
  await publisher.close();
  await follower.close();
}, 30_000);
