import { type ChildProcess, spawn } from 'node:child_process';
import { connect, createServer } from 'node:net';
import { afterAll, expect, test } from 'vitest';
import type { Publication } from '../../src/broker/broker.js';
import { RedisBroker } from '../../src/broker/redis.js';

let redis: ChildProcess | undefined;
afterAll(() => redis?.kill('SIGKILL'));

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Starts a private redis-server (no persistence) and resolves when it accepts connections. */
async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: 'ignore',
    },
  );
  for (const deadline = Date.now() + 10_000; Date.now() < deadline; ) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.end();
        resolve(true);
      }).once('error', () => resolve(false));
    });
    if (open) return child;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('redis-server did not start');
}

test('while Redis is down publishes fail with a BrokerError; subscribers resume when it is back', async () => {
  const port = await freePort();
  redis = await startRedis(port);
  const publisher = new RedisBroker({ redis: `redis://127.0.0.1:${port}` });
  const follower = new RedisBroker({ redis: { port, host: '127.0.0.1', retryStrategy: () => 50 } });
  await Promise.all([publisher.ready(), follower.ready()]);
  const seen: Publication[] = [];
  await follower.subscribe('outage.k', (p) => seen.push(p));
  const before = await publisher.publish('outage.k', 'before');
  await expect.poll(() => seen.map((p) => p.payload)).toEqual(['before']);

  redis.kill('SIGKILL');
  await new Promise<void>((resolve) => redis!.once('exit', () => resolve()));
  await expect(publisher.publish('outage.k', 'lost')).rejects.toMatchObject({ name: 'BrokerError' });

  redis = await startRedis(port);
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
