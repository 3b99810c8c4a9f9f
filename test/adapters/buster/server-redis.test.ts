import { Redis } from 'ioredis';
import { afterAll, inject } from 'vitest';
import { RedisStreamBus } from '../../../src/adapters/buster/redis-bus.js';
import { busterServerSuite } from './server-suite.js';

const url = inject('redisUrl');
if (!url) throw new Error('these tests need a Redis: install redis-server or set REDIS_URL');

const bus = new RedisStreamBus({ redis: url });
/** The second server node's bus: its own Redis connections, as another process would have. */
const otherNode = new RedisStreamBus({ redis: url });
const redis = new Redis(url, { protocol: 2 });
afterAll(async () => {
  await bus.close();
  await otherNode.close();
  await redis.quit();
});

busterServerSuite(
  'redis',
  bus,
  {
    async entries(stream) {
      const entries = (await redis.xrangeBuffer(stream, '-', '+')) as [Buffer, Buffer[]][];
      return entries.map(([id, flat]) => {
        const fields: Record<string, Buffer> = {};
        for (let i = 0; i + 1 < flat.length; i += 2) fields[String(flat[i])] = flat[i + 1] as Buffer;
        return { id: String(id), fields };
      });
    },
    async groups(stream) {
      try {
        const groups = (await redis.xinfo('GROUPS', stream)) as unknown[][];
        return groups.map((group) => String(group[group.indexOf('name') + 1]));
      } catch {
        // XINFO on a missing stream: no groups.
        return [];
      }
    },
    exists: async (key) => (await redis.exists(key)) === 1,
  },
  otherNode,
);
