import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, expect, inject, test } from 'vitest';
import { RedisBroker } from '../../src/broker/redis.js';
import { brokerConformance } from '../broker/conformance.js';

const url = inject('redisUrl');
if (!url)
  throw new Error(
    'these tests need a Redis: install redis-server (apt-get install redis-server) or set REDIS_URL',
  );

async function make(historySize?: number, gzip = false) {
  const broker = new RedisBroker({ redis: url, historySize, gzip });
  await broker.ready();
  return broker;
}

const raw = new Redis(url);
afterAll(() => raw.disconnect());
/** What a Redis restart without persistence does to one key: its epoch, offsets and stream are gone. */
const loseHistory = async (_broker: unknown, key: string) => {
  await raw.del(...['epoch', 'seq', 'log'].map((part) => `sb:{${key}}:${part}`));
};

brokerConformance('redis', { make: (historySize) => make(historySize), peer: () => make(), loseHistory });
brokerConformance('redis (gzip)', {
  make: (historySize) => make(historySize, true),
  peer: () => make(undefined, true),
  loseHistory,
});

test('a payload the broker could not read back is refused before it takes an offset', async () => {
  const broker = new RedisBroker({ redis: url, maxPayloadBytes: 1000, prefix: `sb-${randomUUID()}:` });
  await broker.ready();
  let deep: unknown = 'bottom';
  for (let i = 0; i < 100_000; i++) deep = [deep];
  await expect(broker.publish('refused.k', deep)).rejects.toThrow(
    new RangeError('payload nested deeper than 64 levels'),
  );
  await expect(broker.publish('refused.k', 'x'.repeat(1000))).rejects.toThrow(
    new RangeError('payload larger than 1000 bytes'),
  );
  const accepted = await broker.publish('refused.k', 'fits');
  expect(accepted.offset).toBe(1);
  await broker.close();
});
