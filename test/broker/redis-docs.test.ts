import { expect, test } from 'vitest';
import { REDIS_BROKER_DEFAULTS } from '../../src/broker/redis.js';
import { docTable } from '../support/docs.js';

test('topics.md lists every Redis broker default', () => {
  const rows = docTable('topics.md', '### Redis: restart, stall, outage');
  expect(Object.fromEntries(rows.map(([name, value]) => [name, Number(value)]))).toEqual(
    REDIS_BROKER_DEFAULTS,
  );
});
