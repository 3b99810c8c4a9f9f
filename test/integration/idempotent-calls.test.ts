import { afterEach, describe, expect, inject, test, vi } from 'vitest';
import { WebSocket } from 'ws';
import { z } from 'zod';
import type { Broker } from '../../src/broker/broker.js';
import type { Claim, IdempotencyStore } from '../../src/broker/idempotency.js';
import { MemoryBroker } from '../../src/broker/memory.js';
import { RedisBroker } from '../../src/broker/redis.js';
import { type Client, createClient } from '../../src/client/index.js';
import { command, defineProtocol, error } from '../../src/protocol/index.js';
import { anonymous, createServer, type Handlers, type Server, silentLogger } from '../../src/server/index.js';
import type { Socket } from '../../src/transport/socket.js';
import { type WebSocketConstructor, webSocketConnector } from '../../src/transport/websocket.js';
import { RawPeer, until } from '../support/harness.js';

const payments = defineProtocol({
  name: 'payments',
  version: '1.0.0',
  resources: {
    payments: {
      commands: {
        charge: command({
          input: z.object({ cents: z.number().int() }),
          output: z.object({ charged: z.number(), node: z.string() }),
          idempotent: true,
        }),
        refund: command({
          input: z.object({ cents: z.number().int() }),
          output: z.number(),
          idempotent: { windowMs: 100 },
        }),
        log: command({ input: z.object({}), output: z.number() }),
      },
    },
  },
  errors: { CARD_DECLINED: error('Card declined') },
});

/** One node: counts its handler runs; `charge` waits for `gate` so a test can cut the line mid-call. */
function node(name: string, gate: { open: Promise<void>; started: () => void }) {
  const runs = { charge: 0, refund: 0, log: 0 };
  const handlers: Handlers<typeof payments> = {
    payments: {
      async charge({ cents }, ctx) {
        runs.charge++;
        gate.started();
        await gate.open;
        if (cents < 0) ctx.fail('CARD_DECLINED', `cannot charge ${cents}`);
        return { charged: cents, node: name };
      },
      refund: ({ cents }) => {
        runs.refund++;
        return cents;
      },
      log: () => ++runs.log,
    },
  };
  return { runs, handlers };
}

function gate() {
  let release!: () => void;
  let started!: () => void;
  const open = new Promise<void>((resolve) => {
    release = resolve;
  });
  const running = new Promise<void>((resolve) => {
    started = resolve;
  });
  return { open, release, started, running };
}

/** A signal that fires once; `fired` resolves then. */
function barrier<T = void>() {
  let fire!: (value: T) => void;
  const fired = new Promise<T>((resolve) => {
    fire = resolve;
  });
  return { fired, fire };
}

/** `promise`, or a failure naming `what` after `ms`, so a missing event fails fast. */
function within<T>(promise: Promise<T>, what: string, ms = 3000): Promise<T> {
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms)),
  ]);
}

/** Wraps a broker's idempotency store so a test sees each claim's answer as it is given. */
function watchClaims(broker: Broker, seen: (state: Claim['state']) => void): IdempotencyStore {
  const store = broker.idempotency as IdempotencyStore;
  const claim = store.claim.bind(store);
  store.claim = async (key, ttlMs) => {
    const answer = await claim(key, ttlMs);
    seen(answer.state);
    return answer;
  };
  return store;
}

const opened: { servers: Server<any>[]; clients: Client<any>[]; brokers: Broker[]; peers: RawPeer[] } = {
  servers: [],
  clients: [],
  brokers: [],
  peers: [],
};
afterEach(async () => {
  vi.useRealTimers();
  for (const client of opened.clients.splice(0)) client.close();
  for (const peer of opened.peers.splice(0)) peer.socket.close(1000);
  await Promise.all(opened.servers.splice(0).map((server) => server.close({ graceMs: 20 })));
  await Promise.all(opened.brokers.splice(0).map((broker) => broker.close()));
});

const connector = webSocketConnector(WebSocket as unknown as WebSocketConstructor);

async function start(name: string, broker: Broker, g: ReturnType<typeof gate>) {
  const { runs, handlers } = node(name, g);
  const server = await createServer({
    protocol: payments,
    handlers,
    port: 0,
    host: '127.0.0.1',
    broker,
    auth: anonymous(['*']),
    logger: silentLogger,
  });
  opened.servers.push(server);
  return { server, runs };
}

const redisUrl = inject('redisUrl');
const brokers: [string, () => Promise<[Broker, Broker]>][] = [
  [
    'one memory broker shared by two servers',
    async () => {
      const shared = new MemoryBroker();
      return [shared, shared];
    },
  ],
  [
    'two Redis brokers on one Redis',
    async () => {
      const prefix = `idem-${Date.now()}-${Math.random()}:`;
      const a = new RedisBroker({ redis: redisUrl, prefix });
      const b = new RedisBroker({ redis: redisUrl, prefix });
      await Promise.all([a.ready(), b.ready()]);
      return [a, b];
    },
  ],
];

/** A raw peer greeted by the payments server at `url`. */
async function hello(url: string): Promise<RawPeer> {
  const peer = new RawPeer(connector(url));
  opened.peers.push(peer);
  peer.send({ type: 'hello', wire: 1, protocol: 'payments', version: '1.0.0' });
  await peer.next((message) => message.type === 'welcome');
  return peer;
}

describe.each(brokers)('idempotent calls with %s', (_name, make) => {
  test('a call cut off mid-run is retried on the other node, which answers with the first run instead of running it again', async () => {
    const [brokerA, brokerB] = await make();
    opened.brokers.push(brokerA, ...(brokerB === brokerA ? [] : [brokerB]));
    const g = gate();
    const a = await start('a', brokerA, g);
    const b = await start('b', brokerB, g);
    const sockets: Socket[] = [];
    let dialled = 0;
    const client = createClient({
      protocol: payments,
      url: () => (dialled++ === 0 ? a.server.url : b.server.url),
      connect: (url) => {
        const socket = connector(url);
        sockets.push(socket);
        return socket;
      },
      reconnect: { initialDelayMs: 1 },
    });
    opened.clients.push(client);
    // The retry on b must find a's run going ('running') rather than start its own: wait for that
    // answer itself, so the assertion below cannot pass merely because the retry has not arrived.
    const retryWaits = barrier();
    const claims: Claim['state'][] = [];
    watchClaims(brokerB, (state) => {
      claims.push(state);
      if (state === 'running') retryWaits.fire();
    });
    const charged = client.call('payments.charge', { cents: 500 });
    await g.running;
    // The line drops after node a started the charge and before it could answer.
    sockets[0]!.terminate();
    await until(() => dialled === 2 && client.state === 'open', 3000, 'the reconnect to node b');
    await within(retryWaits.fired, "the retry's claim on node b answered 'running'");
    expect([a.runs.charge, b.runs.charge]).toEqual([1, 0]);
    g.release();
    expect(await charged).toEqual({ charged: 500, node: 'a' });
    expect([a.runs.charge, b.runs.charge]).toEqual([1, 0]);
  });

  // Kills "the idempotency claim released before the outcome is stored": between a release and the
  // store, a retry finds the key free and runs the handler a second time.
  test('while the first run is storing its outcome, a retry on the other node waits for it and replays it', async () => {
    const [brokerA, brokerB] = await make();
    opened.brokers.push(brokerA, ...(brokerB === brokerA ? [] : [brokerB]));
    const g = gate();
    g.release();
    const a = await start('a', brokerA, g);
    const b = await start('b', brokerB, g);
    // Hold node a's store of the outcome until the retry has claimed.
    const storeA = brokerA.idempotency as IdempotencyStore;
    const complete = storeA.complete.bind(storeA);
    const storing = barrier();
    const mayStore = barrier();
    storeA.complete = async (key, outcome, windowMs) => {
      storing.fire();
      await mayStore.fired;
      return complete(key, outcome, windowMs);
    };
    const claims: Claim['state'][] = [];
    const retryClaimed = barrier();
    const peers = await Promise.all([a, b].map((node) => hello(node.server.url)));
    const call = { type: 'call', command: 'payments.charge', input: { cents: 9 }, idempotencyKey: 'pay-9' };
    peers[0]!.send({ ...call, id: 1 });
    await within(storing.fired, "node a's store of the outcome");
    watchClaims(brokerB, (state) => {
      claims.push(state);
      retryClaimed.fire();
    });
    peers[1]!.send({ ...call, id: 2 });
    await within(retryClaimed.fired, "the retry's claim on node b");
    mayStore.fire();
    const expected = { type: 'result', output: { charged: 9, node: 'a' } };
    expect(await peers[0]!.next((m) => m.id === 1)).toEqual({ ...expected, id: 1 });
    expect(await peers[1]!.next((m) => m.id === 2)).toEqual({ ...expected, id: 2 });
    expect(claims[0]).toBe('running');
    expect([a.runs.charge, b.runs.charge]).toEqual([1, 0]);
  });
});

describe('idempotent calls on one node', () => {
  async function single() {
    const broker = new MemoryBroker();
    opened.brokers.push(broker);
    const g = gate();
    g.release();
    const started = await start('solo', broker, g);
    return { ...started, peer: await hello(started.server.url) };
  }

  test('a repeated key replays a request error too, without running the handler again', async () => {
    const { runs, peer } = await single();
    for (const id of [1, 2]) {
      peer.send({
        type: 'call',
        id,
        command: 'payments.charge',
        input: { cents: -1 },
        idempotencyKey: 'k-1',
      });
      expect(await peer.next((m) => m.id === id)).toEqual({
        type: 'error',
        id,
        code: 'CARD_DECLINED',
        message: 'cannot charge -1',
      });
    }
    expect(runs.charge).toBe(1);
  });

  test('the key is per command, kept for the window (100 ms) and forgotten at its end', async () => {
    // Only Date is faked: the store's expiry reads it, while sockets and timers run for real.
    vi.useFakeTimers({ toFake: ['Date'] });
    const { runs, peer } = await single();
    const call = async (id: number, command: string, key: string) => {
      peer.send({ type: 'call', id, command, input: { cents: 7 }, idempotencyKey: key });
      return (await peer.next((m) => m.id === id)).output;
    };
    expect(await call(1, 'payments.refund', 'same')).toBe(7);
    expect(await call(2, 'payments.refund', 'same')).toBe(7);
    expect(runs.refund).toBe(1);
    expect(await call(3, 'payments.charge', 'same')).toEqual({ charged: 7, node: 'solo' });
    expect(runs.charge).toBe(1);
    vi.setSystemTime(Date.now() + 99);
    expect(await call(4, 'payments.refund', 'same')).toBe(7);
    expect(runs.refund).toBe(1);
    vi.setSystemTime(Date.now() + 1);
    expect(await call(5, 'payments.refund', 'same')).toBe(7);
    expect(runs.refund).toBe(2);
  });

  test('a command not marked idempotent ignores the key, and its cut-off call fails with DISCONNECTED', async () => {
    const { runs, peer, server } = await single();
    peer.send({ type: 'call', id: 1, command: 'payments.log', input: {}, idempotencyKey: 'x' });
    peer.send({ type: 'call', id: 2, command: 'payments.log', input: {}, idempotencyKey: 'x' });
    expect((await peer.next((m) => m.id === 1)).output).toBe(1);
    expect((await peer.next((m) => m.id === 2)).output).toBe(2);
    expect(runs.log).toBe(2);
    const sockets: Socket[] = [];
    const client = createClient({
      protocol: payments,
      url: server.url,
      connect: (url) => {
        const socket = connector(url);
        sockets.push(socket);
        return socket;
      },
      reconnect: { initialDelayMs: 1 },
    });
    opened.clients.push(client);
    await client.ready();
    const pending = client.call('payments.log', {}, { timeoutMs: 5000 });
    sockets[0]!.terminate();
    const failure = await pending.catch((e) => e);
    expect(failure.code).toBe('DISCONNECTED');
  });
});
