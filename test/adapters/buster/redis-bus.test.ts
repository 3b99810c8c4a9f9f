import { inject } from 'vitest';
import { RedisStreamBus } from '../../../src/adapters/buster/redis-bus.js';
import { streamBusConformance } from './bus-conformance.js';

const url = inject('redisUrl');
if (!url) throw new Error('these tests need a Redis: install redis-server or set REDIS_URL');

streamBusConformance('redis', () => new RedisStreamBus({ redis: url }));
