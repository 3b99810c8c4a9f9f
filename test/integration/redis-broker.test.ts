import { Redis } from 'ioredis';
import { afterAll, inject } from 'vitest';
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
