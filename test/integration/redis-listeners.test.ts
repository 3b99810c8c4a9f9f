import { randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { Redis } from 'ioredis';
import { afterAll, expect, inject, test } from 'vitest';
import type { PresenceChange, Publication } from '../../src/broker/broker.js';
import { RedisBroker } from '../../src/broker/redis.js';

const url = inject('redisUrl');
const brokers: RedisBroker[] = [];
const raw = new Redis(url);
afterAll(async () => {
  for (const broker of brokers) await broker.close();
  raw.disconnect();
});

/** Records what the broker logs, so a test can assert it said why it dropped something. */
function recordingLogger() {
  const records: { level: string; message: string; fields?: Record<string, unknown> }[] = [];
  const at = (level: string) => (message: string, fields?: Record<string, unknown>) =>
    records.push({ level, message, ...(fields ? { fields } : {}) });
  return { records, logger: { error: at('error'), warn: at('warn'), info: at('info') } };
}

async function make() {
  const { records, logger } = recordingLogger();
  // A prefix of its own, so that a rerun on a kept Redis (REDIS_URL) starts from empty keys.
  const prefix = `sb-${randomUUID()}:`;
  const broker = new RedisBroker({ redis: url, logger, prefix });
  brokers.push(broker);
  await broker.ready();
  return { broker, records, prefix };
}

test('a listener that throws does not stop delivery to the others; the throw is logged', async () => {
  const { broker, records } = await make();
  const first: unknown[] = [];
  const last: unknown[] = [];
  await broker.subscribe('iso.k', (p) => first.push(p.payload));
  await broker.subscribe('iso.k', () => {
    throw new Error('listener bug');
  });
  await broker.subscribe('iso.k', (p) => last.push(p.payload));
  for (let i = 1; i <= 3; i++) await broker.publish('iso.k', i);
  await expect.poll(() => last).toEqual([1, 2, 3]);
  expect(first).toEqual([1, 2, 3]);
  expect(
    records.map((r) => [r.level, r.message, (r.fields?.error as Error | undefined)?.message, r.fields?.key]),
  ).toEqual(Array.from({ length: 3 }, () => ['error', 'a broker listener threw', 'listener bug', 'iso.k']));
});

test('a presence listener that throws does not stop the others; onListenerError hears of it', async () => {
  const errors: [string, string][] = [];
  const broker = new RedisBroker({
    redis: url,
    prefix: `sb-${randomUUID()}:`,
    onListenerError: (error, key) => errors.push([(error as Error).message, key]),
  });
  brokers.push(broker);
  await broker.ready();
  const seen: PresenceChange[] = [];
  await broker.onPresence('iso.p', () => {
    throw new Error('presence bug');
  });
  await broker.onPresence('iso.p', (change) => seen.push(change));
  await broker.join('iso.p', { connectionId: 'c1', userId: 'ann' }, 60_000);
  await expect.poll(() => seen.map((c) => `${c.type}:${c.member.connectionId}`)).toEqual(['join:c1']);
  expect(errors).toEqual([['presence bug', 'iso.p']]);
});

test('malformed messages another process writes on the channels are dropped and logged, never thrown', async () => {
  const { broker, records, prefix } = await make();
  const seen: Publication[] = [];
  const changes: PresenceChange[] = [];
  await broker.subscribe('iso.m', (p) => seen.push(p));
  await broker.onPresence('iso.m', (change) => changes.push(change));
  const channel = `${prefix}{iso.m}:pub`;
  const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
  const garbage: (string | Buffer)[] = [
    'no bars at all',
    '|1|1',
    'e|not-a-number|1',
    'e|-3|1',
    'e|1|{not json',
    `e|1|${deep}`,
    Buffer.concat([Buffer.from('e|1|'), Buffer.from([0]), Buffer.from('not gzip')]),
    Buffer.concat([Buffer.from('e|1|'), Buffer.from([0]), gzipSync(Buffer.alloc(64 * 1024 * 1024))]),
  ];
  for (const message of garbage) await raw.publish(channel, message);
  const presenceGarbage = [
    '{',
    deep,
    '{"type":"join"}',
    '{"type":"boom","member":{"connectionId":"x","userId":"y"}}',
  ];
  for (const message of presenceGarbage) await raw.publish(`${prefix}{iso.m}:presence`, message);
  await raw.hset(`${prefix}{iso.m}:members`, 'c-bad', '{broken');
  await raw.zadd(`${prefix}{iso.m}:presence`, Date.now() + 60_000, 'c-bad');

  const good = await broker.publish('iso.m', { ok: true });
  await broker.join('iso.m', { connectionId: 'c1', userId: 'ann' }, 60_000);
  await expect.poll(() => seen.map((p) => [p.offset, p.payload])).toEqual([[good.offset, { ok: true }]]);
  await expect.poll(() => changes.map((c) => `${c.type}:${c.member.connectionId}`)).toEqual(['join:c1']);
  expect(await broker.members('iso.m')).toEqual([{ connectionId: 'c1', userId: 'ann' }]);
  expect(records.filter((r) => r.message === 'dropped a malformed message from Redis')).toHaveLength(
    garbage.length + presenceGarbage.length,
  );
  expect(records.filter((r) => r.message === 'skipped a malformed presence member in Redis')).toHaveLength(1);
});
