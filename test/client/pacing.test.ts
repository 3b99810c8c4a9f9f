import { afterEach, describe, expect, test } from 'vitest';
import { WebSocket } from 'ws';
import { z } from 'zod';
import { type Client, type ClientOptions, createClient } from '../../src/client/index.js';
import { BURST_RESERVE, JITTER_RESERVE_MS, MAX_HOLD_MS, RATE_SHARE } from '../../src/client/outbox.js';
import { type CallError, command, defineProtocol, type Protocol } from '../../src/protocol/index.js';
import { anonymous, createServer, type Handlers, silentLogger } from '../../src/server/index.js';
import type { Limits as ServerLimits } from '../../src/server/limits.js';
import { memoryTransport } from '../../src/transport/memory.js';
import type { Socket } from '../../src/transport/socket.js';
import { type WebSocketConstructor, webSocketConnector } from '../../src/transport/websocket.js';
import type { Frame, WireFormat } from '../../src/wire/format.js';
import { jsonWire } from '../../src/wire/json.js';
import type { WelcomeLimits } from '../../src/wire/message.js';
import { docTable } from '../support/docs.js';

// The client paces itself to the rate its welcome announces, so the server never has to refuse or
// drop its frames; and when the server refuses one anyway, nothing the client sent hangs.

const counter = defineProtocol({
  name: 'counter',
  version: '1.0.0',
  resources: {
    math: {
      commands: {
        add: command({ input: z.object({ a: z.number(), b: z.number() }), output: z.number() }),
        /** Idempotent: the client may send it again with its key after the server dropped it. */
        square: command({ input: z.object({ n: z.number() }), output: z.number(), idempotent: true }),
      },
    },
  },
});
type Counter = typeof counter;

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** What the server did with the frames it was sent. */
interface ServerSide {
  /** Frames the server decoded: every frame it did not drop unread. */
  decoded: number;
  /** `RATE_LIMITED` replies it sent. */
  refused: number;
  runs: { add: number; square: number };
}

/**
 * The JSON wire, counting what the server decodes and the RATE_LIMITED replies it sends; `announce`
 * rewrites the limits its welcome announces.
 */
function countingWire(seen: ServerSide, announce = (limits: WelcomeLimits) => limits): WireFormat {
  return {
    ...jsonWire,
    decode: (frame) => {
      seen.decoded++;
      return jsonWire.decode(frame);
    },
    encode: (message) => {
      if (message.type === 'error' && message.code === 'RATE_LIMITED') seen.refused++;
      if (message.type === 'welcome')
        return jsonWire.encode({ ...message, limits: announce(message.limits) });
      return jsonWire.encode(message);
    },
  };
}

/** A client's socket, counting the frames the client writes; `sneak` writes one behind its back. */
interface Line {
  written: number;
  sneak(frame: Frame): void;
  /** Drops the connection under the client. */
  cut(): void;
}

function counted(socket: Socket, line: Line): Socket {
  line.sneak = (frame) => socket.send(frame);
  line.cut = () => socket.terminate();
  return {
    send: (frame) => {
      line.written++;
      socket.send(frame);
    },
    close: (code, reason) => socket.close(code, reason),
    terminate: () => socket.terminate(),
    get bufferedAmount() {
      return socket.bufferedAmount;
    },
    listen: (listener) => socket.listen(listener),
  };
}

async function start(
  kind: 'memory' | 'ws',
  limits: Partial<ServerLimits>,
  announce?: (limits: WelcomeLimits) => WelcomeLimits,
  clientOptions: Partial<ClientOptions<Counter>> = {},
) {
  const seen: ServerSide = { decoded: 0, refused: 0, runs: { add: 0, square: 0 } };
  const handlers: Handlers<Counter> = {
    math: {
      add: ({ a, b }) => {
        seen.runs.add++;
        return a + b;
      },
      square: ({ n }) => {
        seen.runs.square++;
        return n * n;
      },
    },
  };
  const transport = memoryTransport();
  const server = await createServer({
    protocol: counter,
    handlers,
    ...(kind === 'memory' ? { transport: transport.server } : { port: 0, host: '127.0.0.1' }),
    auth: anonymous(['*']),
    logger: silentLogger,
    wire: countingWire(seen, announce),
    limits,
  });
  cleanups.push(() => server.close({ graceMs: 10 }));
  const line: Line = { written: 0, sneak: () => {}, cut: () => {} };
  const ws = webSocketConnector(WebSocket as unknown as WebSocketConstructor);
  const client: Client<Counter> = createClient({
    protocol: counter as Protocol<any> as Counter,
    url: kind === 'memory' ? 'memory://test' : `ws://127.0.0.1:${server.port}/`,
    connect: (url) => counted(kind === 'memory' ? transport.connect(url) : ws(url), line),
    reconnect: false,
    // Short, so that a call the server dropped fails the test fast instead of hanging for 30 s.
    callTimeoutMs: 1_500,
    ...clientOptions,
  });
  cleanups.push(() => client.close());
  await client.ready();
  return { server, client, seen, line };
}

/**
 * Fires `count` calls at once; `results` is each one's outcome (a sum, or the code it failed with:
 * a call the server dropped ends with TIMEOUT), `answered` the order the sums arrived in.
 */
async function burst(client: Client<Counter>, count: number) {
  const answered: number[] = [];
  const calls = Array.from({ length: count }, (_, i) =>
    client.call('math.add', { a: i, b: 1000 }).then(
      (sum) => {
        answered.push(sum - 1000);
        return sum;
      },
      (error: CallError) => error.code,
    ),
  );
  return { results: await Promise.all(calls), answered };
}

const range = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i);

describe('a client pacing itself to the welcome', () => {
  // Unpaced, 1.5 × the burst got one RATE_LIMITED and the rest past the burst dropped: TIMEOUT after
  // the call timeout. 3 × the burst owed more than the burst: 4202, every call DISCONNECTED.
  for (const [times, count] of [
    ['1.5', 60],
    ['3', 120],
  ] as const) {
    for (const kind of ['memory', 'ws'] as const) {
      test(`over ${kind}: ${times} × the burst fired at once is answered exactly, in order, and the server refuses and drops nothing`, async () => {
        const { client, seen, line } = await start(kind, { ratePerSecond: 400, rateBurst: 40 });
        const { results, answered } = await burst(client, count);
        expect(results).toEqual(range(1000, count));
        expect(answered).toEqual(range(0, count));
        expect(seen.refused).toBe(0);
        expect(seen.runs.add).toBe(count);
        // The hello and every call went out, and the server read every one of them.
        expect(line.written).toBe(count + 1);
        expect(seen.decoded).toBe(count + 1);
      });
    }
  }

  test('with the default limits, 300 calls at once wait for maxInFlight (64) slots: all answered, none refused', async () => {
    const { client, seen } = await start('ws', {});
    const { results, answered } = await burst(client, 300);
    expect(results).toEqual(range(1000, 300));
    expect(answered).toEqual(range(0, 300));
    expect(seen.refused).toBe(0);
    expect(seen.runs.add).toBe(300);
  });

  test('paces to one second of the rate when an older server announces no rateBurst', async () => {
    const limits = { ratePerSecond: 100, rateBurst: 100, maxInFlight: 1000 };
    const { client, seen } = await start('memory', limits, (limits) => {
      const { rateBurst: _, ...older } = limits;
      return older;
    });
    const { results } = await burst(client, 150);
    expect(results).toEqual(range(1000, 150));
    expect(seen.refused).toBe(0);
    expect(seen.decoded).toBe(151);
  });
});

describe('a RATE_LIMITED reply', () => {
  /** Spends every token the server has behind the client's back (another sender on its line). */
  function spend(line: Line, frames: number) {
    for (let i = 0; i < frames; i++) line.sneak(JSON.stringify({ type: 'ping', ts: 0 }));
  }

  test('fails the refused call and those sent after it fast, holds sends, and later calls are all answered', async () => {
    const { client, seen, line } = await start('memory', { ratePerSecond: 100, rateBurst: 20 });
    spend(line, 19);
    const calls = range(0, 10).map((i) => client.call('math.add', { a: i, b: 0 }));
    const outcomes = await Promise.allSettled(calls);
    const reasons = outcomes.map((outcome) => (outcome as PromiseRejectedResult).reason);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(Array(10).fill('rejected'));
    // The server owes one token at 100/s: 20 ms, less what refilled before it read the call.
    const { retryAfterMs } = reasons[0].data;
    expect(retryAfterMs).toBeGreaterThan(0);
    expect(retryAfterMs).toBeLessThanOrEqual(20);
    expect(reasons[0]).toMatchObject({ code: 'RATE_LIMITED', data: { retryAfterMs } });
    expect(reasons[0].data.inDoubt).toBeUndefined();
    for (const reason of reasons.slice(1))
      expect(reason).toMatchObject({ code: 'RATE_LIMITED', data: { retryAfterMs, inDoubt: true } });
    expect(seen.refused).toBe(1);
    expect(seen.runs.add).toBe(0);
    // Sent at once, these would land in the server's debt and be dropped: held, they are all answered.
    const { results } = await burst(client, 30);
    expect(results).toEqual(range(1000, 30));
    expect(seen.refused).toBe(1);
  });

  test('sends idempotent calls again after the hold: every one answered exactly, each run once', async () => {
    const { client, seen, line } = await start('memory', { ratePerSecond: 100, rateBurst: 20 });
    spend(line, 19);
    const squares = await Promise.all(range(0, 10).map((n) => client.call('math.square', { n })));
    expect(squares).toEqual(range(0, 10).map((n) => n * n));
    expect(seen.runs.square).toBe(10);
    expect(seen.refused).toBe(1);
  });
});

describe('calls waiting in the outbox', () => {
  test('a call that times out before its turn never reaches the server (no call, no cancel)', async () => {
    const { client, seen, line } = await start('memory', { ratePerSecond: 10, rateBurst: 5 });
    // The client spends 4 of the 5 tokens (50 ms of the rate in reserve), one of them on the hello.
    const outcomes = await Promise.all(
      range(0, 5).map((i) =>
        client.call('math.add', { a: i, b: 0 }, { timeoutMs: 50 }).catch((error: CallError) => error.code),
      ),
    );
    expect(outcomes).toEqual([0, 1, 2, 'TIMEOUT', 'TIMEOUT']);
    expect(await client.call('math.add', { a: 5, b: 0 })).toBe(5);
    expect(line.written).toBe(5);
    expect(seen.decoded).toBe(5);
    expect(seen.runs.add).toBe(4);
  });

  test('those not yet sent when the connection drops go on the next one; only those sent fail DISCONNECTED', async () => {
    const { client, seen, line } = await start('memory', { ratePerSecond: 10, rateBurst: 5 }, undefined, {
      reconnect: { initialDelayMs: 1, maxDelayMs: 1 },
    });
    const calls = range(0, 6).map((i) =>
      client.call('math.add', { a: i, b: 0 }).catch((error: CallError) => error.code),
    );
    const reopened = new Promise<void>((resolve) => {
      const stop = client.onStateChange((state) => {
        if (state !== 'open') return;
        stop();
        resolve();
      });
    });
    // Three went out (hello + 3 = the 4 tokens); the other three wait for tokens.
    expect(line.written).toBe(4);
    line.cut();
    await reopened;
    expect(await Promise.all(calls)).toEqual(['DISCONNECTED', 'DISCONNECTED', 'DISCONNECTED', 3, 4, 5]);
    expect(seen.refused).toBe(0);
  });
});

test('docs/client.md lists the pacing constants with their values', () => {
  expect(
    docTable('client.md', '## Pacing', { stripCode: true }).map(([name, value]) => [name, value]),
  ).toEqual([
    ['BURST_RESERVE', String(BURST_RESERVE)],
    ['JITTER_RESERVE_MS', String(JITTER_RESERVE_MS)],
    ['RATE_SHARE', String(RATE_SHARE)],
    ['MAX_HOLD_MS', String(MAX_HOLD_MS)],
  ]);
});
