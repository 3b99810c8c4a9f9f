import { afterAll, expect, test } from 'vitest';
import type { PresenceChange, Publication } from '../../src/broker/broker.js';
import { DEFAULT_REDIS_COMMAND_TIMEOUT_MS, RedisBroker } from '../../src/broker/redis.js';
import { RedisProcess } from '../support/redis-process.js';

let redis: RedisProcess | undefined;
const brokers: RedisBroker[] = [];
afterAll(async () => {
  redis?.resume();
  for (const broker of brokers) await broker.close();
  await redis?.kill();
});

/** How long an operation on a stopped Redis took to fail, and with what; fails the test past `limitMs`. */
async function failure(operation: Promise<unknown>, limitMs: number): Promise<{ ms: number; error: Error }> {
  const started = performance.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const outcome = await Promise.race([
    operation.then(
      () => new Error('it succeeded'),
      (error: Error) => ({ ms: performance.now() - started, error }),
    ),
    new Promise<Error>((resolve) => {
      timer = setTimeout(() => resolve(new Error(`still waiting after ${limitMs} ms`)), limitMs);
    }),
  ]);
  clearTimeout(timer);
  if (outcome instanceof Error) throw outcome;
  return outcome;
}

test(`a stopped Redis fails publishes with a BrokerError within the ${DEFAULT_REDIS_COMMAND_TIMEOUT_MS} ms command timeout, and nothing is lost or doubled after it resumes`, async () => {
  redis = await RedisProcess.start();
  const publisher = new RedisBroker({ redis: redis.url });
  const follower = new RedisBroker({ redis: redis.url });
  brokers.push(publisher, follower);
  await Promise.all([publisher.ready(), follower.ready()]);
  const seen: Publication[] = [];
  const changes: PresenceChange[] = [];
  await follower.subscribe('stall.k', (p) => seen.push(p));
  await follower.onPresence('stall.k', (change) => changes.push(change));
  const before = await publisher.publish('stall.k', 'before');
  await expect.poll(() => seen.length).toBe(1);

  redis.stop();
  // Generous against a loaded machine; without a command timeout these wait until SIGCONT.
  const limitMs = DEFAULT_REDIS_COMMAND_TIMEOUT_MS * 3;
  const stalled = await Promise.all([
    failure(publisher.publish('stall.k', 'stalled 1'), limitMs),
    failure(publisher.publish('stall.k', 'stalled 2'), limitMs),
    failure(publisher.idempotency.claim('stall.call', 60_000), limitMs),
    failure(publisher.join('stall.k', { connectionId: 'c-stalled', userId: 'ann' }, 60_000), limitMs),
    failure(publisher.history('stall.k', { after: 0 }), limitMs),
    failure(
      follower.subscribe('stall.late', () => {}),
      limitMs,
    ),
    failure(
      follower.onPresence('stall.late', () => {}),
      limitMs,
    ),
  ]);
  for (const { ms, error } of stalled) {
    expect(error).toMatchObject({ name: 'BrokerError' });
    expect(error.message).toMatch(/timed out/);
    expect(ms).toBeGreaterThanOrEqual(DEFAULT_REDIS_COMMAND_TIMEOUT_MS - 50);
  }
  redis.resume();

  const after = await publisher.publish('stall.k', 'after');
  await expect.poll(() => seen.map((p) => p.payload)).toEqual(['before', 'after']);
  // The stalled publishes reached Redis when it resumed, past their deadline: refused, not applied late.
  expect([after.epoch, after.offset]).toEqual([before.epoch, 2]);
  const history = await publisher.history('stall.k', { after: 0 });
  expect(history.publications.map((p) => [p.offset, p.payload])).toEqual([
    [1, 'before'],
    [2, 'after'],
  ]);
  // Nor the claim: the key is free, so a retry of the call runs it instead of waiting for a ghost.
  expect(await publisher.idempotency.claim('stall.call', 60_000)).toEqual({ state: 'claimed' });
  // Nor the join: no member and no join event from a join the caller was told failed.
  expect(await publisher.members('stall.k')).toEqual([]);
  // The keys whose subscribe failed can be followed once Redis is back.
  const late: unknown[] = [];
  await follower.subscribe('stall.late', (p) => late.push(p.payload));
  await publisher.publish('stall.late', 'late');
  await expect.poll(() => late).toEqual(['late']);
  await publisher.join('stall.k', { connectionId: 'c-after', userId: 'bob' }, 60_000);
  await expect.poll(() => changes.map((c) => `${c.type}:${c.member.connectionId}`)).toEqual(['join:c-after']);
}, 30_000);

test('the command timeout is a broker option', async () => {
  redis ??= await RedisProcess.start();
  const broker = new RedisBroker({ redis: redis.url, commandTimeoutMs: 200 });
  brokers.push(broker);
  await broker.ready();
  redis.stop();
  try {
    const { ms, error } = await failure(broker.publish('stall.option', 1), 2_000);
    expect(error).toMatchObject({ name: 'BrokerError' });
    expect(ms).toBeGreaterThanOrEqual(190);
  } finally {
    redis.resume();
  }
  expect((await broker.publish('stall.option', 2)).offset).toBe(1);
});

test('a node busy past the timeout still takes the reply Redis sent in time', async () => {
  redis ??= await RedisProcess.start();
  const broker = new RedisBroker({ redis: redis.url, commandTimeoutMs: 200 });
  brokers.push(broker);
  await broker.ready();
  await broker.publish('busy.k', 'warm'); // loads the script, so the next publish is one round trip
  const publishing = broker.publish('busy.k', 'while busy');
  // Blocks the event loop past the timeout while Redis answers: timers then run before I/O.
  for (const until = Date.now() + 600; Date.now() < until; );
  expect((await publishing).offset).toBe(2);
  expect((await broker.history('busy.k', { after: 0 })).publications.map((p) => p.payload)).toEqual([
    'warm',
    'while busy',
  ]);
});
