import { randomUUID } from 'node:crypto';
import { afterEach, expect, test } from 'vitest';
import {
  type BusterServer,
  type BusterSettings,
  createBusterServer,
} from '../../../src/adapters/buster/index.js';
import { silentLogger } from '../../../src/server/index.js';
import {
  type BusterPeer,
  type BusterTestProtocol,
  busterHandlers,
  busterProtocol,
  connectUser,
  SECRET,
} from './fixtures.js';

const servers: BusterServer<BusterTestProtocol>[] = [];
const peers: BusterPeer[] = [];
afterEach(async () => {
  for (const peer of peers.splice(0)) peer.close();
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function open(settings: Partial<BusterSettings>) {
  const server = await createBusterServer({
    protocol: busterProtocol,
    handlers: busterHandlers,
    auth: { secret: SECRET },
    port: 0,
    host: '127.0.0.1',
    logger: silentLogger,
    settings,
  });
  servers.push(server);
  const userId = randomUUID();
  const peer = await connectUser(server, userId, { name: 'Eve' });
  peers.push(peer);
  return { peer, userId };
}

const refusal = (userId: string, route: string, event: string, message: string) =>
  `{"route":"${route}","event":"${event}","payload":null,"sent_by":{"id":"${userId}","name":"Eve"},"error":{"code":"BAD_REQUEST","message":"${message}"},"send_method":"SenderOnly"}`;

test('a request past maxInFlight is refused with TOO_MANY_IN_FLIGHT under its route; the running one is not disturbed', async () => {
  const { peer, userId } = await open({ maxInFlight: 1 });
  peer.send('/admin/slow', null);
  peer.send('/sql/run', { sql: 'select 1' });
  expect((await peer.next()).text).toBe(
    refusal(
      userId,
      '/sql/run',
      'runSql',
      'TOO_MANY_IN_FLIGHT: at most 1 requests may run at once on one connection',
    ),
  );
  // The slow one times out after its 30 ms; then there is room again.
  expect((await peer.next()).message).toMatchObject({
    route: '/admin/slow',
    error: { code: 'INTERNAL_SERVER_ERROR' },
  });
  peer.send('/sql/run', { sql: 'select 1' });
  expect((await peer.next()).message).toMatchObject({ route: '/sql/run', payload: { rows: [{ n: 8 }] } });
});

test('past the burst: one RATE_LIMITED per debt period with its delay, the rest dropped, then 4202', async () => {
  // One token a second: nothing refills while the frames below arrive.
  const { peer, userId } = await open({ ratePerSecond: 1, rateBurst: 2 });
  peer.send('/sql/run', { sql: 'a' });
  peer.send('/sql/run', { sql: 'bb' });
  const results = [(await peer.next()).message, (await peer.next()).message];
  expect(results.map((m) => m.payload.rows[0].n).sort()).toEqual([1, 2]);
  peer.send('/threads/get', { id: 'refused, answered' });
  peer.send('/sql/run', { sql: 'refused within the same period: dropped' });
  peer.send('/sql/run', { sql: 'owes 3 > rateBurst: closed' });
  expect(await peer.closed).toEqual({ code: 4202, reason: 'kept sending past the rate limit' });
  expect(peer.texts).toHaveLength(3);
  const limited = peer.texts[2] as string;
  const delay = /retry after (\d+) ms/.exec(limited)?.[1];
  // One token owed at a rate of 1/s: about 1 s (less the few ms since the bucket was last full).
  expect(Number(delay)).toBeGreaterThan(900);
  expect(Number(delay)).toBeLessThanOrEqual(2000);
  expect(limited).toBe(
    refusal(
      userId,
      '/threads/get',
      'getThreads',
      `RATE_LIMITED: more than 1 requests per second; retry after ${delay} ms`,
    ),
  );
});
