import { randomUUID } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterEach, describe, expect, test } from 'vitest';
import {
  type BusterServer,
  type BusterSettings,
  createBusterServer,
  draftKey,
  type StreamBus,
  threadStream,
} from '../../../src/adapters/buster/index.js';
import type { Logger } from '../../../src/server/logger.js';
import { until } from '../../support/harness.js';
import {
  BusterPeer,
  type BusterTestProtocol,
  busterHandlers,
  busterProtocol,
  connectUser,
  refusedUpgrade,
  token,
} from './fixtures.js';

/** Reads what a bus holds, to assert the exact Redis state Buster leaves. */
export interface BusInspector {
  entries(stream: string): Promise<{ id: string; fields: Record<string, Buffer> }[]>;
  groups(stream: string): Promise<string[]>;
  exists(key: string): Promise<boolean>;
}

const quiet: Logger = { error: () => {}, warn: () => {}, info: () => {} };

/**
 * The end-to-end behaviour of a Buster server over real `ws` sockets, on one bus implementation.
 * `otherNodeBus` is the bus of a second server node: its own Redis connections, or the same
 * memory bus (one process).
 */
export function busterServerSuite(
  name: string,
  bus: StreamBus,
  inspect: BusInspector,
  otherNodeBus: StreamBus = bus,
): void {
  describe(`Buster server on the ${name} bus`, () => {
    const servers: BusterServer<BusterTestProtocol>[] = [];
    const peers: BusterPeer[] = [];

    afterEach(async () => {
      for (const peer of peers.splice(0)) peer.close();
      await Promise.all(servers.splice(0).map((server) => server.close()));
    });

    async function start(settings: Partial<BusterSettings> = {}, nodeBus: StreamBus = bus) {
      const server = await createBusterServer({
        protocol: busterProtocol,
        handlers: busterHandlers,
        auth: { secret: 'buster-test-secret-that-is-long-enough' },
        bus: nodeBus,
        port: 0,
        host: '127.0.0.1',
        path: '/api/v1/ws',
        logger: quiet,
        settings: { maxBlockMs: 200, ...settings },
      });
      servers.push(server);
      return server;
    }

    async function connect(server: BusterServer<BusterTestProtocol>, userId: string, claims = {}) {
      const peer = await connectUser(server, userId, claims);
      peers.push(peer);
      return peer;
    }

    /** Calls a route and waits for its response. */
    async function call(peer: BusterPeer, route: string, payload: unknown) {
      peer.send(route, payload);
      return peer.next((message) => message.route === route && message.event !== 'messagePosted');
    }

    describe('auth at the upgrade', () => {
      test.each([
        ['no token', async () => ({}), 'Missing authentication token'],
        [
          'a token signed with another secret',
          async () => ({
            Authorization: `Bearer ${await token(randomUUID(), {}, { secret: 'another-secret-that-is-long-enough' })}`,
          }),
          'Invalid authentication token',
        ],
        [
          'a token for another audience',
          async () => ({ Authorization: `Bearer ${await token(randomUUID(), {}, { audience: 'anon' })}` }),
          'Invalid authentication token',
        ],
        [
          'an expired token',
          async () => ({ Authorization: `Bearer ${await token(randomUUID(), {}, { expiresIn: '-1m' })}` }),
          'Invalid authentication token',
        ],
        ['garbage', async () => ({ Authorization: 'Bearer not.a.jwt' }), 'Invalid authentication token'],
      ])('refuses %s with 401 and the Sec-WebSocket-Close headers', async (_name, headers, reason) => {
        const server = await start();
        const refused = await refusedUpgrade(server.url, await headers());
        expect(refused.status).toBe(401);
        expect(refused.headers['sec-websocket-protocol']).toBe('close');
        expect(refused.headers['sec-websocket-close-code']).toBe('4001');
        expect(refused.headers['sec-websocket-close-reason']).toBe(reason);
        expect(refused.body).toBe(reason);
        expect(server.list()).toEqual([]);
      });

      test('accepts the token in ?authentication= and as a bare Authorization value', async () => {
        const server = await start();
        const userId = randomUUID();
        const jwt = await token(userId, {}, { audience: 'api' });
        const byQuery = await BusterPeer.open(`${server.url}?authentication=${jwt}`);
        const bare = await BusterPeer.open(server.url, { headers: { Authorization: jwt } });
        peers.push(byQuery, bare);
        await until(
          () => server.list().filter((c) => c.user.id === userId).length === 2,
          3000,
          'two connections',
        );
        expect(server.list().map((c) => c.user.name)).toEqual([
          `${userId.slice(0, 8)}@example.com`,
          `${userId.slice(0, 8)}@example.com`,
        ]);
      });
    });

    describe('responses through the personal stream', () => {
      test("a route call is answered with the exact frame, written gzip'd to the user stream", async () => {
        const server = await start();
        const userId = randomUUID();
        const peer = await connect(server, userId, { name: 'Alice' });
        const connection = server.list()[0];
        const { text } = await call(peer, '/sql/run', { sql: 'select 1' });
        const expected = `{"route":"/sql/run","event":"runSql","payload":{"rows":[{"n":8}]},"sent_by":{"id":"${userId}","name":"Alice"},"error":null,"send_method":"SenderOnly"}`;
        expect(text).toBe(expected);
        const entries = await inspect.entries(userId);
        expect(entries.map((entry) => Object.keys(entry.fields))).toEqual([['new_subscription'], ['data']]);
        expect(entries[0]?.fields.new_subscription?.toString()).toBe(userId);
        const data = entries[1]?.fields.data as Buffer;
        expect(gunzipSync(data).toString()).toBe(expected);
        expect(data.equals(gzipSync(expected))).toBe(true);
        expect(await inspect.groups(userId)).toEqual([connection?.userGroup]);
        expect(connection?.userGroup).toMatch(new RegExp(`^user:${userId}:[0-9a-f-]{36}$`));
        expect(connection?.consumer).toMatch(/^consumer:[0-9a-f-]{36}$/);
      });

      test('the user stream is trimmed near 50 entries (MAXLEN ~ 50)', async () => {
        const server = await start();
        const userId = randomUUID();
        const peer = await connect(server, userId);
        // One at a time: a burst of more than 50 unread responses loses the oldest, as in Buster.
        for (let i = 0; i < 160; i++) {
          expect((await call(peer, '/sql/run', { sql: 'x'.repeat(i) })).message.payload).toEqual({
            rows: [{ n: i }],
          });
        }
        const entries = await inspect.entries(userId);
        expect(entries.length).toBeGreaterThanOrEqual(50);
        // Redis trims whole nodes of 100 entries, so `~` may keep up to 50 + 99; the memory bus keeps 50.
        expect(entries.length).toBeLessThan(150);
        const last = entries.at(-1)?.fields.data as Buffer;
        expect(JSON.parse(gunzipSync(last).toString()).payload).toEqual({ rows: [{ n: 159 }] });
      });

      test('errors: BAD_REQUEST, UNAUTHORIZED, NOT_FOUND, INTERNAL_SERVER_ERROR with a trace, timeouts', async () => {
        const server = await start();
        const userId = randomUUID();
        const peer = await connect(server, userId, { name: 'Eve' });
        const sentBy = `{"id":"${userId}","name":"Eve"}`;
        expect((await call(peer, '/sql/run', { sql: 42 })).text).toBe(
          `{"route":"/sql/run","event":"runSql","payload":null,"sent_by":${sentBy},"error":{"code":"BAD_REQUEST","message":"invalid payload for /sql/run: sql: Invalid input: expected string, received number"},"send_method":"SenderOnly"}`,
        );
        expect((await call(peer, '/admin/secret', null)).text).toBe(
          `{"route":"/admin/secret","event":"secretAdmin","payload":null,"sent_by":${sentBy},"error":{"code":"UNAUTHORIZED","message":"/admin/secret requires permission \\"admin:read\\""},"send_method":"SenderOnly"}`,
        );
        expect((await call(peer, '/admin/find', { id: '7' })).text).toBe(
          `{"route":"/admin/find","event":"findAdmin","payload":null,"sent_by":${sentBy},"error":{"code":"NOT_FOUND","message":"no thread 7"},"send_method":"SenderOnly"}`,
        );
        const crashed = (await call(peer, '/admin/crash', null)).message;
        expect(crashed.error.code).toBe('INTERNAL_SERVER_ERROR');
        expect(crashed.error.message).toMatch(/^Internal server error \(trace [0-9a-f-]{36}\)$/);
        expect(crashed.error.message).not.toContain('database');
        expect((await call(peer, '/admin/slow', null)).message.error).toEqual({
          code: 'INTERNAL_SERVER_ERROR',
          message: '/admin/slow timed out after 30 ms',
        });
      });

      test('a permitted caller gets the guarded route', async () => {
        const server = await start();
        const peer = await connect(server, randomUUID(), { permissions: ['admin:*'] });
        expect((await call(peer, '/admin/secret', null)).message.payload).toBe('the secret');
      });

      test('unknown routes, unparsable text and binary frames are dropped without a reply', async () => {
        const server = await start();
        const peer = await connect(server, randomUUID());
        peer.ws.send('{"route":"/nowhere/at_all","payload":{}}');
        peer.ws.send('not json');
        peer.ws.send('{"payload":{}}');
        peer.ws.send(Buffer.from('{"route":"/sql/run","payload":{"sql":"binary"}}'));
        peer.send('/sql/run', { sql: 'after' });
        // Requests run concurrently, but the dropped ones answer nothing at all: the first and only reply is this one.
        const { message } = await peer.next();
        expect(message.payload).toEqual({ rows: [{ n: 5 }] });
        peer.send('/sql/run', { sql: 'again' });
        await peer.next();
        expect(peer.messages.length).toBe(2);
      });

      test('pushToUser reaches every connection of the user with sent_by null and All', async () => {
        const server = await start();
        const userId = randomUUID();
        const one = await connect(server, userId);
        const two = await connect(server, userId);
        expect(server.pushToUser(userId, 'threads.joinedThread', { id: 't1' })).toBe(2);
        const expected =
          '{"route":"/threads","event":"joinedThread","payload":{"id":"t1"},"sent_by":null,"error":null,"send_method":"All"}';
        expect((await one.next()).text).toBe(expected);
        expect((await two.next()).text).toBe(expected);
      });
    });

    describe('thread streams and send_method', () => {
      test('SenderOnly, AllButSender and All between two users on two server nodes', async () => {
        const node1 = await start();
        const node2 = await start({}, otherNodeBus);
        const alice = randomUUID();
        const bob = randomUUID();
        const thread = randomUUID();
        const alice1 = await connect(node1, alice, { name: 'Alice' });
        const alice2 = await connect(node2, alice, { name: 'Alice' });
        const bob1 = await connect(node1, bob, { name: 'Bob' });
        const bob2 = await connect(node2, bob, { name: 'Bob' });
        for (const peer of [alice1, alice2, bob1, bob2]) {
          expect((await call(peer, '/threads/get', { id: thread })).message.payload).toEqual({
            id: thread,
            title: `thread ${thread}`,
          });
        }
        // A response reaches every connection of its user: wait for all four groups, not for replies.
        await waitUntil(async () => (await inspect.groups(threadStream(thread))).length === 4);
        for (const [text, sendMethod] of [
          ['s', 'SenderOnly'],
          ['abs', 'AllButSender'],
          ['all', 'All'],
          ['end', 'All'],
        ]) {
          expect(
            (await call(alice1, '/threads/post', { id: thread, text, sendMethod })).message.payload,
          ).toEqual({ posted: true });
        }
        const received = async (peer: BusterPeer) => {
          await peer.waitFor(() => (peer.messages.some((m) => m.payload?.text === 'end') ? true : undefined));
          return peer.messages.filter((m) => m.event === 'messagePosted').map((m) => m.payload.text);
        };
        expect(await received(alice1)).toEqual(['s', 'all', 'end']);
        expect(await received(alice2)).toEqual(['s', 'all', 'end']);
        expect(await received(bob1)).toEqual(['abs', 'all', 'end']);
        expect(await received(bob2)).toEqual(['abs', 'all', 'end']);
        const posted = bob2.messages.find((m) => m.payload?.text === 'abs');
        expect(JSON.stringify(posted)).toBe(
          `{"route":"/threads/post","event":"messagePosted","payload":{"text":"abs"},"sent_by":{"id":"${alice}","name":"Alice"},"error":null,"send_method":"AllButSender"}`,
        );
        // Responses go to the personal stream SenderOnly: every connection of the caller gets them, nobody else.
        const responses = (peer: BusterPeer) => peer.messages.filter((m) => m.event === 'postThreads').length;
        await alice2.waitFor(() => (responses(alice2) === 4 ? true : undefined));
        expect(responses(bob1) + responses(bob2)).toBe(0);
      });
    });

    describe('unsubscribe', () => {
      test('leaving destroys the group; the last one out deletes the stream and its draft key', async () => {
        const server = await start();
        const alice = randomUUID();
        const bob = randomUUID();
        const thread = randomUUID();
        const stream = threadStream(thread);
        const a = await connect(server, alice);
        const b = await connect(server, bob);
        await call(a, '/threads/get', { id: thread });
        await call(b, '/threads/get', { id: thread });
        const draft = (await call(a, '/threads/messages/update', { id: thread, text: 'x' })).message.payload
          .draft;
        expect(draft).toMatch(/^[0-9a-f-]{36}$/);
        expect(await inspect.exists(draftKey(stream))).toBe(true);
        const [aConn, bConn] = [alice, bob].map((id) => server.list().find((c) => c.user.id === id));
        expect((await inspect.groups(stream)).sort()).toEqual([aConn?.userGroup, bConn?.userGroup].sort());

        expect((await call(a, '/threads/unsubscribe', { id: thread })).message.payload).toBeNull();
        expect(await inspect.groups(stream)).toEqual([bConn?.userGroup]);
        expect(await inspect.exists(stream)).toBe(true);
        expect(await inspect.exists(draftKey(stream))).toBe(true);
        const removed = (await inspect.entries(alice)).filter((e) => e.fields.removed_subscription);
        expect(removed.map((e) => e.fields.removed_subscription?.toString())).toEqual([stream]);

        // Bob closes: every stream he follows is left; he was the last on the thread and on his own stream.
        b.close();
        await until(() => !server.list().some((c) => c.user.id === bob), 3000, 'bob gone');
        await bConn?.done;
        expect(await inspect.exists(stream)).toBe(false);
        expect(await inspect.exists(draftKey(stream))).toBe(false);
        expect(await inspect.exists(bob)).toBe(false);
        expect(await inspect.exists(alice)).toBe(true);
      });

      test('a subscription made with a long BLOCK pending is read at once (new_subscription wakes the reader)', async () => {
        const server = await start({ initialBlockMs: 20_000, maxBlockMs: 20_000 });
        const peer = await connect(server, randomUUID());
        const thread = randomUUID();
        const started = Date.now();
        await call(peer, '/threads/get', { id: thread });
        await server.send(threadStream(thread), {
          route: '/threads/get',
          event: 'threadUpdated',
          payload: { id: thread },
          sent_by: null,
          error: null,
          send_method: 'All',
        });
        expect((await peer.next((m) => m.event === 'threadUpdated')).message.payload).toEqual({ id: thread });
        expect(Date.now() - started).toBeLessThan(5000);
      });

      test('a lost group is created again after the read error, and delivery goes on', async () => {
        const server = await start({ maxBlockMs: 50 });
        const peer = await connect(server, randomUUID());
        const connection = server.list()[0];
        const thread = randomUUID();
        const stream = threadStream(thread);
        await call(peer, '/threads/get', { id: thread });
        await bus.destroyGroup(stream, connection?.userGroup as string);
        await waitUntil(async () => (await inspect.groups(stream)).includes(connection?.userGroup as string));
        await server.send(stream, {
          route: '/threads/get',
          event: 'back',
          payload: null,
          sent_by: null,
          error: null,
          send_method: 'All',
        });
        expect((await peer.next((m) => m.event === 'back')).message.route).toBe('/threads/get');
      });
    });

    describe('liveness', () => {
      test('the server pings with payload [1]; a client that never pongs is closed', async () => {
        const server = await start({ pingIntervalMs: 50, pongTimeoutMs: 100 });
        const peer = await BusterPeer.open(server.url, {
          headers: { Authorization: `Bearer ${await token(randomUUID())}` },
          autoPong: false,
        });
        peers.push(peer);
        await peer.waitFor(() => (peer.pings.length > 0 ? true : undefined));
        expect([...(peer.pings[0] as Buffer)]).toEqual([1]);
        expect(await peer.closed).toEqual({ code: 1000, reason: 'pong timeout' });
      });

      test('a client that answers pings but sends no text is closed when idle', async () => {
        const server = await start({ pingIntervalMs: 30, pongTimeoutMs: 1000, idleTimeoutMs: 250 });
        const peer = await connect(server, randomUUID());
        const opened = Date.now();
        expect(await peer.closed).toEqual({ code: 1000, reason: 'idle timeout' });
        expect(Date.now() - opened).toBeGreaterThanOrEqual(200);
        expect(peer.pings.length).toBeGreaterThan(1);
      });

      test('client pings are answered', async () => {
        const server = await start();
        const peer = await connect(server, randomUUID());
        const pong = new Promise<Buffer>((resolve) => peer.ws.once('pong', resolve));
        peer.ws.ping(Buffer.from('hi'));
        expect((await pong).toString()).toBe('hi');
      });
    });
  });
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
