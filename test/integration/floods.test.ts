import { afterEach, describe, expect, test } from 'vitest';
import { WebSocket } from 'ws';
import type { Authenticator } from '../../src/server/auth/authenticator.js';
import { anonymous, createServer, type ServerOptions } from '../../src/server/index.js';
import type { WireFormat } from '../../src/wire/format.js';
import { jsonWire } from '../../src/wire/json.js';
import { testProtocol } from '../support/fixtures.js';
import { recordingLogger, type TestProtocol, testHandlers } from '../support/harness.js';
import { closeOf, type RawTcpPeer, rawTcpPeer } from '../support/raw-tcp.js';

// Floods and the handshake window over real `ws` sockets on loopback: what a flooder gets back
// (replies, HTTP statuses, close codes) and that the server lets go of it at once.

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const HELLO = JSON.stringify({ type: 'hello', wire: 1, protocol: 'test', version: '1.0.0' });
/** Shorter than the server's 1 s grace of a polite hard close: "at once" must beat it. */
const AT_ONCE_MS = 500;

async function start(options: Partial<ServerOptions<TestProtocol>> = {}) {
  const closes: [number, string][] = [];
  const disconnected: (() => void)[] = [];
  const server = await createServer({
    protocol: testProtocol,
    handlers: testHandlers(),
    port: 0,
    host: '127.0.0.1',
    auth: anonymous(['*']),
    logger: recordingLogger().logger,
    onDisconnect: (_connection, code, reason) => {
      closes.push([code, reason]);
      disconnected.shift()?.();
    },
    ...options,
  });
  cleanups.push(() => server.close({ graceMs: 10 }));
  /** Resolves at the next onDisconnect. */
  const nextDisconnect = () => new Promise<void>((resolve) => disconnected.push(resolve));
  return { server, closes, nextDisconnect };
}

async function peer(url: string): Promise<RawTcpPeer> {
  const raw = await rawTcpPeer(url);
  cleanups.push(() => raw.destroy());
  return raw;
}

/** A peer that has said hello and read its welcome. */
async function welcomed(url: string, hello = HELLO): Promise<RawTcpPeer> {
  const raw = await peer(url);
  expect(raw.status).toBe(101);
  raw.sendText(hello);
  const welcome = JSON.parse((await raw.next()).payload.toString());
  expect(welcome.type).toBe('welcome');
  return raw;
}

const json = (frame: { payload: Buffer }) => JSON.parse(frame.payload.toString());

/** The JSON wire, counting the frames it is asked to decode. */
function countingWire(): { wire: WireFormat; decoded: () => number } {
  let decoded = 0;
  return {
    wire: {
      ...jsonWire,
      decode: (frame) => {
        decoded++;
        return jsonWire.decode(frame);
      },
    },
    decoded: () => decoded,
  };
}

describe('a flood on one connection', () => {
  test('gets one RATE_LIMITED per debt period, the rest dropped unread, then 4202 and the socket dropped at once', async () => {
    const { wire, decoded } = countingWire();
    // A refill this slow adds nothing during the test: every token count below is exact.
    const { server, closes } = await start({ wire, limits: { ratePerSecond: 0.001, rateBurst: 3 } });
    const flooder = await welcomed(server.url); // the hello took one token: 2 left
    flooder.batch(() => {
      for (let id = 1; id <= 10; id++)
        flooder.sendText(JSON.stringify({ type: 'call', id, command: 'math.add', input: { a: id, b: 0 } }));
    });
    // All ten arrive in one chunk: calls 1 and 2 start, call 3 is answered RATE_LIMITED, and the
    // close below aborts 1 and 2 before their results go out.
    const limited = json(await flooder.next());
    expect([limited.type, limited.id, limited.code, limited.message]).toEqual([
      'error',
      3,
      'RATE_LIMITED',
      'more than 0.001 messages per second',
    ]);
    // It owes one token and needs one more: 2 tokens at 0.001 per second, less what refilled since.
    expect(limited.data.retryAfterMs).toBeGreaterThan(1_990_000);
    expect(limited.data.retryAfterMs).toBeLessThanOrEqual(2_000_000);
    // Calls 4 and 5 owe 2 and 3 tokens (dropped unread); call 6 owes 4 > rateBurst: abuse.
    expect(closeOf(await flooder.next())).toEqual({ code: 4202, reason: 'kept sending past the rate limit' });
    // The flooder never answers the close frame: the server drops the socket without waiting.
    await flooder.ended(AT_ONCE_MS);
    expect(flooder.frames).toEqual([]);
    expect(decoded()).toBe(4); // the hello and calls 1-3
    expect(closes).toEqual([[4202, 'kept sending past the rate limit']]);
  });

  test("the abuser's address may not reconnect for abuseCooldownMs: HTTP 429 with that Retry-After", async () => {
    const { server } = await start({ limits: { ratePerSecond: 0.001, rateBurst: 3, abuseCooldownMs: 7000 } });
    const bystander = await welcomed(server.url);
    const flooder = await welcomed(server.url);
    for (let id = 1; id <= 10; id++)
      flooder.sendText(JSON.stringify({ type: 'call', id, command: 'math.add', input: { a: id, b: 0 } }));
    await flooder.ended(AT_ONCE_MS);
    // The first refusal is held for a second before it is answered; one more meanwhile is answered at once.
    const [held, again] = await Promise.all([peer(server.url), peer(server.url)]);
    expect([held.status, held.headers['retry-after']]).toEqual([429, '7']);
    expect([again.status, again.headers['retry-after']]).toEqual([429, '7']);
    // Connections already open from that address are not touched.
    bystander.sendText(JSON.stringify({ type: 'call', id: 1, command: 'math.add', input: { a: 2, b: 3 } }));
    expect(json(await bystander.next())).toEqual({ type: 'result', id: 1, output: { sum: 5 } });
  });

  test('a bystander is served throughout', async () => {
    const { server } = await start({ limits: { ratePerSecond: 0.001, rateBurst: 50 } });
    const bystander = await welcomed(server.url);
    const flooder = await welcomed(server.url);
    const call = JSON.stringify({ type: 'call', id: 1, command: 'math.add', input: { a: 1, b: 1 } });
    for (let i = 0; i < 500; i++) flooder.sendText(call);
    await flooder.ended(AT_ONCE_MS * 4);
    const texts = flooder.frames.filter((frame) => frame.opcode === 1).map(json);
    expect(texts.filter((m) => m.code === 'RATE_LIMITED')).toHaveLength(1);
    expect(closeOf(flooder.frames.at(-1)!).code).toBe(4202);
    bystander.sendText(JSON.stringify({ type: 'call', id: 7, command: 'math.add', input: { a: 2, b: 3 } }));
    expect(json(await bystander.next())).toEqual({ type: 'result', id: 7, output: { sum: 5 } });
  });
});

describe('connection limits per remote address, at the upgrade', () => {
  test('refuses a connection past maxConnectionsPerAddress with 429 and Retry-After, until one closes', async () => {
    const { server, nextDisconnect } = await start({ limits: { maxConnectionsPerAddress: 2 } });
    const first = await welcomed(server.url);
    await welcomed(server.url);
    const refused = await peer(server.url);
    expect([refused.status, refused.headers['retry-after']]).toEqual([429, '1']);
    const gone = nextDisconnect();
    first.destroy();
    await gone;
    expect((await peer(server.url)).status).toBe(101);
  });

  test('refuses new connections past connectRatePerAddress per second with 429 and Retry-After', async () => {
    const { server } = await start({ limits: { connectRatePerAddress: 3 } });
    const statuses: number[] = [];
    let retryAfter: string | undefined;
    for (let i = 0; i < 4; i++) {
      const raw = await peer(server.url);
      statuses.push(raw.status);
      retryAfter ??= raw.headers['retry-after'];
    }
    expect(statuses).toEqual([101, 101, 101, 429]);
    expect(retryAfter).toBe('1');
  });

  test('the refusal comes before the application verifyUpgrade runs', async () => {
    let verified = 0;
    const { server } = await start({
      limits: { connectRatePerAddress: 1 },
      verifyUpgrade: () => {
        verified++;
        return undefined;
      },
    });
    expect([(await peer(server.url)).status, (await peer(server.url)).status]).toEqual([101, 429]);
    expect(verified).toBe(1);
  });
});

describe('connections in the handshake', () => {
  test('refuses an upgrade past maxPendingHandshakes with 503, until one is welcomed', async () => {
    const { server } = await start({ limits: { maxPendingHandshakes: 2 } });
    const first = await peer(server.url);
    await peer(server.url);
    const refused = await peer(server.url);
    expect([refused.status, refused.headers['retry-after']]).toEqual([503, '1']);
    first.sendText(HELLO);
    expect(json(await first.next()).type).toBe('welcome');
    expect((await peer(server.url)).status).toBe(101);
  });

  test('drops a peer that never says hello at handshakeTimeoutMs, without waiting for its answer', async () => {
    const { server } = await start({ limits: { handshakeTimeoutMs: 100 } });
    const silent = await peer(server.url);
    expect(closeOf(await silent.next())).toEqual({ code: 4101, reason: 'no hello within 100 ms' });
    await silent.ended(AT_ONCE_MS);
  });

  test('closes a frame over maxHandshakeBytes before the welcome with 1009 as soon as its header arrives', async () => {
    const { server } = await start();
    const holder = await peer(server.url);
    // Declares 1 MiB (the post-welcome limit) and sends 10 bytes of it: the header alone is refused.
    holder.sendFrame(1, Buffer.from('{"type":"h'), { declaredLength: 1024 * 1024 });
    expect(closeOf(await holder.next()).code).toBe(1009);
    await holder.ended(AT_ONCE_MS);
  });

  test('accepts a hello up to maxHandshakeBytes and refuses one past it with 1009', async () => {
    const { server } = await start({ limits: { maxHandshakeBytes: 4096 } });
    const hello = (pad: number) =>
      JSON.stringify({ type: 'hello', wire: 1, protocol: 'test', version: '1.0.0', pad: 'x'.repeat(pad) });
    const small = await peer(server.url);
    small.sendText(hello(4096 - hello(0).length));
    expect(json(await small.next()).type).toBe('welcome');
    const big = await peer(server.url);
    big.sendText(hello(4097 - hello(0).length));
    expect(closeOf(await big.next()).code).toBe(1009);
  });

  test('after the welcome the full maxMessageBytes applies again', async () => {
    const { server } = await start({ limits: { maxHandshakeBytes: 1024 } });
    const client = await welcomed(server.url);
    const input = { a: 1, b: 2, pad: 'y'.repeat(100_000) };
    client.sendText(JSON.stringify({ type: 'call', id: 1, command: 'math.add', input }));
    expect(json(await client.next())).toEqual({ type: 'result', id: 1, output: { sum: 3 } });
  });
});

describe('connection limits per principal, after authentication', () => {
  /** Lets anyone in as the user its hello names. */
  const asUser: Authenticator = {
    authenticate: ({ credentials }) => ({
      ok: true,
      principal: { id: String((credentials as { user: string }).user), permissions: ['*'] },
    }),
  };
  const helloAs = (user: string) =>
    JSON.stringify({ type: 'hello', wire: 1, protocol: 'test', version: '1.0.0', credentials: { user } });

  test('closes a connection past maxConnectionsPerPrincipal with 4203; other principals are not counted', async () => {
    const { server, nextDisconnect } = await start({
      auth: asUser,
      limits: { maxConnectionsPerPrincipal: 1 },
    });
    const ada = await welcomed(server.url, helloAs('ada'));
    const second = await peer(server.url);
    second.sendText(helloAs('ada'));
    expect(closeOf(await second.next())).toEqual({
      code: 4203,
      reason: 'more than 1 connections for this principal',
    });
    await welcomed(server.url, helloAs('bob'));
    const gone = nextDisconnect();
    ada.destroy();
    await gone;
    await welcomed(server.url, helloAs('ada'));
  });

  test('closes connections past connectRatePerPrincipal per second with 4203', async () => {
    const { server } = await start({ auth: asUser, limits: { connectRatePerPrincipal: 2 } });
    await welcomed(server.url, helloAs('ada'));
    await welcomed(server.url, helloAs('ada'));
    const third = await peer(server.url);
    third.sendText(helloAs('ada'));
    expect(closeOf(await third.next())).toEqual({
      code: 4203,
      reason: 'more than 2 new connections per second for this principal',
    });
  });

  test('anonymous() is not one user: its connections are limited per address only', async () => {
    const { server } = await start({ limits: { maxConnectionsPerPrincipal: 1 } });
    await welcomed(server.url);
    await welcomed(server.url);
    expect(server.list()).toHaveLength(2);
  });
});

describe('frames ws refuses', () => {
  test('invalid UTF-8 closes with 1007 and the socket is dropped at once', async () => {
    const { server } = await start();
    const client = await welcomed(server.url);
    client.sendFrame(1, Buffer.from([0x22, 0xff, 0xfe, 0x22]));
    expect(closeOf(await client.next()).code).toBe(1007);
    await client.ended(AT_ONCE_MS);
  });

  test('a ws client sees the close codes too (1009 before the welcome)', async () => {
    const { server } = await start({ limits: { maxHandshakeBytes: 1024 } });
    const ws = new WebSocket(server.url);
    cleanups.push(() => ws.terminate());
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    ws.send('x'.repeat(2048));
    expect(await closed).toBe(1009);
  });
});
