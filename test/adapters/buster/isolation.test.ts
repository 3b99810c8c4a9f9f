import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, describe, expect, inject, test } from 'vitest';
import { z } from 'zod';
import { MAX_DROP_LINES_PER_CONNECTION } from '../../../src/adapters/buster/connection.js';
import {
  type BusterHandlers,
  type BusterServer,
  createBusterServer,
  MemoryStreamBus,
  type StreamBus,
  type StreamReader,
  threadStream,
} from '../../../src/adapters/buster/index.js';
import { RedisStreamBus } from '../../../src/adapters/buster/redis-bus.js';
import { command, defineProtocol } from '../../../src/protocol/index.js';
import type { Logger } from '../../../src/server/logger.js';
import { memoryTransport } from '../../../src/transport/memory.js';
import { recordingLogger, until } from '../../support/harness.js';
import { BusterPeer, busterHandlers, busterProtocol, connectUser, SECRET, token } from './fixtures.js';

const redisUrl = inject('redisUrl');
if (!redisUrl) throw new Error('these tests need a Redis: install redis-server or set REDIS_URL');

/** The `error` field of a log record. */
const errorOf = (record: { fields: Record<string, unknown> } | undefined) => record?.fields.error as Error;

const TRACED_1011 = /^internal error \(trace ([0-9a-f-]{36})\)$/;

/**
 * A bus whose readers, for one user's connections, hand over entries that blow up when read:
 * a reader (a bus listener) that throws while it delivers.
 */
function faultyReaders(inner: StreamBus, victimId: () => string): StreamBus {
  const exploding = new Map<string, Uint8Array>();
  exploding.get = () => {
    throw new Error('reader exploded');
  };
  return Object.assign(Object.create(inner) as StreamBus, {
    reader(): StreamReader {
      const reader = inner.reader();
      return {
        async read(group, consumer, streams, count, blockMs) {
          const entries = await reader.read(group, consumer, streams, count, blockMs);
          if (!group.startsWith(`user:${victimId()}:`)) return entries;
          return entries.map((entry) => ({ ...entry, fields: exploding }));
        },
        close: () => reader.close(),
      };
    },
  });
}

const buses: { name: string; make: () => StreamBus }[] = [
  { name: 'memory', make: () => new MemoryStreamBus() },
  { name: 'redis', make: () => new RedisStreamBus({ redis: redisUrl }) },
];

const servers: BusterServer<any>[] = [];
const peers: BusterPeer[] = [];
const opened: StreamBus[] = [];
afterEach(async () => {
  for (const peer of peers.splice(0)) peer.close();
  await Promise.all(servers.splice(0).map((server) => server.close()));
});
afterAll(async () => {
  await Promise.all(opened.map((bus) => bus.close()));
});

async function start(bus: StreamBus, logger: Logger) {
  const server = await createBusterServer({
    protocol: busterProtocol,
    handlers: busterHandlers,
    auth: { secret: SECRET },
    bus,
    port: 0,
    host: '127.0.0.1',
    path: '/api/v1/ws',
    logger,
    settings: { maxBlockMs: 200 },
  });
  servers.push(server);
  return server;
}

async function connect(server: BusterServer<any>, userId: string) {
  const peer = await connectUser(server, userId, { name: userId });
  peers.push(peer);
  return peer;
}

const sqlReply = (userId: string, n: number) =>
  `{"route":"/sql/run","event":"runSql","payload":{"rows":[{"n":${n}}]},"sent_by":{"id":"${userId}","name":"${userId}"},"error":null,"send_method":"SenderOnly"}`;

async function served(peer: BusterPeer, userId: string, sql = 'select 1') {
  peer.send('/sql/run', { sql });
  expect((await peer.next((m) => m.route === '/sql/run')).text).toBe(sqlReply(userId, sql.length));
}

describe.each(buses)('Buster isolation on the $name bus', ({ make }) => {
  const bus = () => {
    const made = make();
    opened.push(made);
    return made;
  };

  test('a request nested 5,000 deep gets the BAD_MESSAGE refusal under its route; the connection goes on', async () => {
    const { logger, records } = recordingLogger();
    const server = await start(bus(), logger);
    const alice = randomUUID();
    const peer = await connect(server, alice);
    peer.ws.send(`{"route":"/sql/run","payload":{"sql":${'['.repeat(5000)}${']'.repeat(5000)}}}`);
    expect((await peer.next()).text).toBe(
      `{"route":"/sql/run","event":"runSql","payload":null,"sent_by":{"id":"${alice}","name":"${alice}"},"error":{"code":"BAD_REQUEST","message":"BAD_MESSAGE: nested deeper than 64 levels"},"send_method":"SenderOnly"}`,
    );
    // Too deep and not opening with its route: dropped like any bad frame, logged, no reply.
    peer.ws.send(`{"payload":${'['.repeat(5000)}${']'.repeat(5000)},"route":"/sql/run"}`);
    await served(peer, alice);
    expect(records.filter((r) => r.level === 'error')).toEqual([]);
    expect(
      records.some(
        (r) => r.message === 'dropped a frame' && r.fields.reason === 'nested deeper than 64 levels',
      ),
    ).toBe(true);
  });

  test('a flood of bad frames logs MAX_DROP_LINES_PER_CONNECTION lines, then one count when the connection ends', async () => {
    const { logger, records } = recordingLogger();
    const server = await start(bus(), logger);
    const alice = randomUUID();
    const peer = await connect(server, alice);
    for (let i = 0; i < 100; i++)
      peer.ws.send(i % 2 === 0 ? 'not json' : '{"route":"/nowhere","payload":{}}');
    await served(peer, alice);
    const dropLines = () =>
      records.filter((r) => r.message === 'dropped a frame' || r.message === 'unknown route');
    expect(dropLines()).toHaveLength(MAX_DROP_LINES_PER_CONNECTION);
    peer.ws.close();
    await expect
      .poll(() => records.filter((r) => r.message === 'dropped frames not logged'))
      .toEqual([
        expect.objectContaining({ level: 'info', fields: expect.objectContaining({ suppressed: 80 }) }),
      ]);
    expect(dropLines()).toHaveLength(MAX_DROP_LINES_PER_CONNECTION);
  });

  test('whatever throws while a frame is handled closes that connection alone: 1011 with the trace id logged', async () => {
    const { logger, records } = recordingLogger();
    const throwing: Logger = {
      ...logger,
      info: (message, fields) => {
        if (fields?.reason === 'malformed JSON') throw new Error('logger exploded');
        logger.info(message, fields);
      },
    };
    const server = await start(bus(), throwing);
    const [victimId, witnessId] = [randomUUID(), randomUUID()];
    const victim = await connect(server, victimId);
    const witness = await connect(server, witnessId);
    victim.ws.send('{not json');
    const closed = await victim.closed;
    expect(closed.code).toBe(1011);
    const traceId = TRACED_1011.exec(closed.reason)?.[1];
    expect(traceId).toBeDefined();
    const logged = records.filter((r) => r.level === 'error');
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ message: 'connection failed', fields: { traceId, what: 'a frame' } });
    expect(errorOf(logged[0]).message).toBe('logger exploded');
    await served(witness, witnessId, 'still here');
    await until(() => server.list().length === 1, 3000, 'the victim left');
  });

  test('a reader that throws while it delivers closes its connection alone; the other readers of the stream get every message', async () => {
    const { logger, records } = recordingLogger();
    const [victimId, witnessId, posterId] = [randomUUID(), randomUUID(), randomUUID()];
    const server = await start(
      faultyReaders(bus(), () => victimId),
      logger,
    );
    const witness = await connect(server, witnessId);
    const poster = await connect(server, posterId);
    const thread = randomUUID();
    for (const [peer, id] of [
      [witness, witnessId],
      [poster, posterId],
    ] as const) {
      peer.send('/threads/get', { id: thread });
      expect((await peer.next((m) => m.route === '/threads/get')).message.sent_by.id).toBe(id);
    }
    // The first entry the victim's reader hands over (the wake-up of its own subscription, or the
    // reply below) throws as it is read.
    const victim = await BusterPeer.open(`${server.url}?authentication=${await token(victimId)}`);
    peers.push(victim);
    victim.send('/sql/run', { sql: 'x' });
    const closed = await victim.closed;
    expect(closed.code).toBe(1011);
    const traceId = TRACED_1011.exec(closed.reason)?.[1];
    expect(records.filter((r) => r.level === 'error')).toMatchObject([
      { message: 'connection failed', fields: { traceId, what: 'stream delivery' } },
    ]);
    for (let i = 0; i < 5; i++) {
      poster.send('/threads/post', { id: thread, text: `m${i}`, sendMethod: 'All' });
      await poster.next((m) => m.route === '/threads/post' && m.event === 'postThreads');
    }
    await witness.waitFor(() =>
      witness.messages.filter((m) => m.event === 'messagePosted').length === 5 ? true : undefined,
    );
    expect(witness.messages.filter((m) => m.event === 'messagePosted').map((m) => m.payload.text)).toEqual([
      'm0',
      'm1',
      'm2',
      'm3',
      'm4',
    ]);
    await served(witness, witnessId);
    expect(threadStream(thread)).toBe(`thread:${thread}`);
  });
});

describe('Buster isolation of results and accepts', () => {
  const deep = defineProtocol({
    name: 'deep',
    version: '1.0.0',
    resources: {
      deep: { commands: { make: command({ input: z.object({ depth: z.number() }), output: z.unknown() }) } },
    },
  });
  const deepHandlers: BusterHandlers<typeof deep> = {
    deep: {
      make: ({ depth }) => {
        let value: unknown = 0;
        for (let i = 0; i < depth; i++) value = [value];
        return value;
      },
    },
  };

  test('a result nested deeper than maxDepth is answered INTERNAL_SERVER_ERROR with a trace id, never lost', async () => {
    const { logger, records } = recordingLogger();
    const server = await createBusterServer({
      protocol: deep,
      handlers: deepHandlers,
      auth: { secret: SECRET },
      port: 0,
      host: '127.0.0.1',
      logger,
    });
    servers.push(server);
    const alice = randomUUID();
    const peer = await connect(server, alice);
    peer.send('/deep/make', { depth: 62 });
    expect((await peer.next()).message.payload).toEqual(JSON.parse(`${'['.repeat(62)}0${']'.repeat(62)}`));
    peer.send('/deep/make', { depth: 100 });
    const { message } = await peer.next();
    expect(message).toMatchObject({
      route: '/deep/make',
      event: 'makeDeep',
      payload: null,
      error: { code: 'INTERNAL_SERVER_ERROR' },
    });
    const traceId = /^Internal server error \(trace ([0-9a-f-]{36})\)$/.exec(message.error.message)?.[1];
    expect(records.filter((r) => r.level === 'error')).toMatchObject([
      { message: 'route failed', fields: { traceId } },
    ]);
    expect(errorOf(records.find((r) => r.level === 'error')).name).toBe('StreamMessageTooDeep');
  });

  test('a resolveUser that throws closes that socket with 1011 and a trace id; the server goes on', async () => {
    const { logger, records } = recordingLogger();
    const transport = memoryTransport();
    const server = await createBusterServer({
      protocol: busterProtocol,
      handlers: busterHandlers,
      auth: {
        secret: SECRET,
        resolveUser: (claims) => {
          if (claims.sub === 'boom') throw new Error('user store down');
          return { id: String(claims.sub), name: 'ok', permissions: [] };
        },
      },
      // A transport without an upgrade check: the user is resolved as the socket is accepted.
      transport: { start: (accept) => transport.server.start(accept), stop: () => transport.server.stop() },
      logger,
    });
    servers.push(server);
    const socket = transport.connect(`/?authentication=${await token('boom')}`);
    const closed = await new Promise<{ code: number; reason: string }>((resolve) =>
      socket.listen({ message: () => {}, close: (code, reason) => resolve({ code, reason }) }),
    );
    expect(closed.code).toBe(1011);
    const traceId = TRACED_1011.exec(closed.reason)?.[1];
    expect(records.filter((r) => r.level === 'error')).toMatchObject([
      { message: 'could not accept a connection', fields: { traceId } },
    ]);
    expect(server.list()).toEqual([]);
  });
});
