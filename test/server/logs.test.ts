import { afterEach, describe, expect, test } from 'vitest';
import type { Authenticator } from '../../src/server/index.js';
import { type Harness, startHarness, TRANSPORTS, type TransportKind, until } from '../support/harness.js';
import { nestedJson } from '../support/hostile.js';
import { captureLog } from '../support/log-capture.js';

/** Accepts the credentials 'good' as ada; anything else (or nothing) is refused. */
const keyAuth: Authenticator = {
  authenticate: ({ credentials }) =>
    credentials === 'good'
      ? { ok: true, principal: { id: 'ada', permissions: ['*'] } }
      : { ok: false, reason: credentials === undefined ? 'missing credentials' : 'unknown key' },
};

const ID = expect.stringMatching(/^[0-9a-f-]{36}$/);
const addressOf = (kind: TransportKind) => (kind === 'memory' ? 'memory' : '127.0.0.1');

let harness: Harness;
afterEach(() => harness?.close());

describe.each(TRANSPORTS)('connection events over %s', (kind) => {
  const remoteAddress = addressOf(kind);
  let log: ReturnType<typeof captureLog>;
  const start = async (options: Parameters<typeof startHarness>[0] = {}) => {
    log = captureLog();
    harness = await startHarness({ logger: log.logger, ...options }, {}, kind);
    return harness;
  };
  /** The one line of `event`, once it is written; fails if there are more. */
  const line = async (event: string) => {
    await until(() => log.events(event).length > 0, 2000, event);
    expect(log.events(event)).toHaveLength(1);
    return log.events(event)[0]!;
  };

  test('bad and missing credentials: handshake.refused at warn, 4100, with the reason', async () => {
    await start({ auth: keyAuth });
    const bad = harness.raw();
    bad.send({ type: 'hello', wire: 1, protocol: 'test', version: '1.2.0', credentials: 'wrong' });
    expect((await bad.closed).code).toBe(4100);
    expect(await line('handshake.refused')).toEqual({
      level: 'warn',
      message: 'handshake refused',
      fields: {
        event: 'handshake.refused',
        connectionId: ID,
        remoteAddress,
        code: 4100,
        reason: 'unknown key',
      },
    });
    const missing = harness.raw();
    missing.send({ type: 'hello', wire: 1, protocol: 'test', version: '1.2.0' });
    expect((await missing.closed).code).toBe(4100);
    await until(() => log.events('handshake.refused').length === 2);
    expect(log.events('handshake.refused')[1]!.fields).toMatchObject({
      reason: 'missing credentials',
      code: 4100,
    });
  });

  test('a refused upgrade (verifyUpgrade 401, and the per-address 429): upgrade.refused with the status', async () => {
    await start({
      verifyUpgrade: (request) =>
        request.url.includes('nope') ? { status: 401, body: 'no token' } : undefined,
      limits: { maxConnectionsPerAddress: 1 },
    });
    harness.raw('/nope');
    expect(await line('upgrade.refused')).toEqual({
      level: 'warn',
      message: 'upgrade refused',
      fields: {
        event: 'upgrade.refused',
        remoteAddress,
        status: 401,
        reason: 'no token',
        by: 'verifyUpgrade',
      },
    });
    await harness.raw().handshake();
    harness.raw();
    await until(() => log.events('upgrade.refused').length === 2);
    expect(log.events('upgrade.refused')[1]!.fields).toEqual({
      event: 'upgrade.refused',
      remoteAddress,
      status: 429,
      reason: 'more than 1 connections from this address',
      by: 'a connection limit',
    });
  });

  test('per-principal admission: admission.refused at warn, 4203, naming the principal', async () => {
    await start({ auth: keyAuth, limits: { maxConnectionsPerPrincipal: 1 } });
    await harness.raw().handshake('good');
    const second = harness.raw();
    second.send({ type: 'hello', wire: 1, protocol: 'test', version: '1.2.0', credentials: 'good' });
    const closed = await second.closed;
    expect(closed.code).toBe(4203);
    expect(await line('admission.refused')).toEqual({
      level: 'warn',
      message: 'connection refused by a limit',
      fields: {
        event: 'admission.refused',
        connectionId: ID,
        remoteAddress,
        principal: 'ada',
        code: 4203,
        reason: closed.reason,
      },
    });
  });

  test('handshake timeout: handshake.timeout at info, 4101', async () => {
    await start({ limits: { handshakeTimeoutMs: 50 } });
    expect((await harness.raw().closed).code).toBe(4101);
    expect(await line('handshake.timeout')).toEqual({
      level: 'info',
      message: 'handshake timed out',
      fields: {
        event: 'handshake.timeout',
        connectionId: ID,
        remoteAddress,
        code: 4101,
        reason: 'no hello within 50 ms',
      },
    });
  });

  test('incompatible client: handshake.incompatible at warn, 4102', async () => {
    await start();
    harness.raw().send({ type: 'hello', wire: 1, protocol: 'chat', version: '1.2.0' });
    expect(await line('handshake.incompatible')).toEqual({
      level: 'warn',
      message: 'incompatible client',
      fields: {
        event: 'handshake.incompatible',
        connectionId: ID,
        remoteAddress,
        code: 4102,
        reason: 'protocol mismatch: server speaks "test", client speaks "chat"',
      },
    });
  });

  test('a frame before the hello: protocol.error at warn, 1002', async () => {
    await start();
    harness.raw().send({ type: 'call', id: 1, command: 'math.add', input: { a: 1, b: 1 } });
    expect(await line('protocol.error')).toEqual({
      level: 'warn',
      message: 'protocol error',
      fields: {
        event: 'protocol.error',
        connectionId: ID,
        remoteAddress,
        code: 1002,
        reason: 'expected hello during the handshake, got call',
      },
    });
  });

  test('a frame too big before the welcome: frame.too_big at warn, 1009', async () => {
    await start({ limits: { maxHandshakeBytes: 1024 } });
    const peer = harness.raw();
    peer.send('x'.repeat(5000));
    expect((await peer.closed).code).toBe(1009);
    const { fields, level } = await line('frame.too_big');
    expect(level).toBe('warn');
    expect(fields).toMatchObject({ event: 'frame.too_big', connectionId: ID, remoteAddress, code: 1009 });
  });

  test('a bad frame and a frame nested past maxDepth after the welcome: message.bad at info, with the principal', async () => {
    await start({ auth: keyAuth });
    const peer = harness.raw();
    await peer.handshake('good');
    peer.send('{"type":');
    expect((await peer.next((m) => m.type === 'error')).code).toBe('BAD_MESSAGE');
    peer.send(`{"type":"call","id":7,"command":"math.add","input":${nestedJson(100)}}`);
    const deep = await peer.next((m) => m.type === 'error');
    expect(deep.code).toBe('BAD_MESSAGE');
    await until(() => log.events('message.bad').length === 2);
    const [garbled, nested] = log.events('message.bad');
    expect(garbled).toEqual({
      level: 'info',
      message: 'bad message',
      fields: {
        event: 'message.bad',
        connectionId: ID,
        remoteAddress,
        principal: 'ada',
        code: 'BAD_MESSAGE',
        reason: expect.any(String),
      },
    });
    expect(nested!.fields).toEqual({
      ...garbled!.fields,
      reason: deep.message,
      ...(deep.id === undefined ? {} : { callId: deep.id }),
    });
  });

  test('past the message rate: limit.rate_limited with the call id; kept up: limit.rate_abuse, 4202', async () => {
    await start({ limits: { ratePerSecond: 1, rateBurst: 1 } });
    const peer = harness.raw();
    await peer.handshake();
    for (let id = 1; id <= 3; id++)
      peer.send({ type: 'call', id, command: 'math.add', input: { a: 1, b: 1 } });
    const limited = await peer.next((m) => m.type === 'error');
    expect(limited.code).toBe('RATE_LIMITED');
    const first = await line('limit.rate_limited');
    expect(first).toEqual({
      level: 'info',
      message: 'rate limited',
      fields: {
        event: 'limit.rate_limited',
        connectionId: ID,
        remoteAddress,
        principal: 'anonymous',
        code: 'RATE_LIMITED',
        reason: 'more than 1 messages per second',
        callId: limited.id,
      },
    });
    for (let id = 4; id <= 20; id++)
      peer.send({ type: 'call', id, command: 'math.add', input: { a: 1, b: 1 } });
    expect((await peer.closed).code).toBe(4202);
    expect((await line('limit.rate_abuse')).fields).toEqual({
      event: 'limit.rate_abuse',
      connectionId: first.fields.connectionId,
      remoteAddress,
      principal: 'anonymous',
      code: 4202,
      reason: 'kept sending past the rate limit',
    });
  });

  test('a call past maxInFlight: limit.in_flight at info with the call id', async () => {
    await start({ limits: { maxInFlight: 1 } });
    const peer = harness.raw();
    await peer.handshake();
    peer.send({ type: 'call', id: 1, command: 'slow.wait', input: { ms: 5000 } });
    peer.send({ type: 'call', id: 2, command: 'slow.wait', input: { ms: 1 } });
    const refused = await peer.next((m) => m.type === 'error');
    expect(refused).toMatchObject({ id: 2, code: 'TOO_MANY_IN_FLIGHT' });
    expect(await line('limit.in_flight')).toEqual({
      level: 'info',
      message: 'too many calls in flight',
      fields: {
        event: 'limit.in_flight',
        connectionId: ID,
        remoteAddress,
        principal: 'anonymous',
        code: 'TOO_MANY_IN_FLIGHT',
        reason: refused.message,
        callId: 2,
        ...(refused.traceId ? { traceId: refused.traceId } : {}),
      },
    });
  });

  test('closes: by the peer at debug, by the server at info; each connection closed is logged once', async () => {
    await start();
    const peer = harness.raw();
    const welcome = await peer.handshake();
    peer.socket.close(1000, 'bye');
    expect(await line('connection.closed')).toEqual({
      level: 'debug',
      message: 'connection closed',
      fields: {
        event: 'connection.closed',
        connectionId: welcome.connectionId,
        remoteAddress,
        principal: 'anonymous',
        code: 1000,
        reason: 'bye',
        byServer: false,
      },
    });
    const other = harness.raw();
    const second = await other.handshake();
    await harness.server.close({ graceMs: 0 });
    await until(() => log.events('connection.closed').length === 2);
    expect(log.events('connection.closed')[1]).toEqual({
      level: 'info',
      message: 'connection closed',
      fields: {
        event: 'connection.closed',
        connectionId: second.connectionId,
        remoteAddress,
        principal: 'anonymous',
        code: 1012,
        reason: 'server shutting down',
        byServer: true,
      },
    });
    expect(log.lines.filter((l) => l.fields.connectionId === second.connectionId)).toHaveLength(1);
  });

  test('a fault closes with 1011 and its close line carries the trace id of the logged error', async () => {
    await start({
      auth: {
        authenticate: () => {
          throw new Error('key store down');
        },
      },
    });
    harness.raw().send({ type: 'hello', wire: 1, protocol: 'test', version: '1.2.0', credentials: 'x' });
    const refused = await line('handshake.refused');
    const fault = log.lines.find((l) => l.message === 'authenticator failed')!;
    expect(refused.fields).toMatchObject({ code: 4100, traceId: fault.fields.traceId });
    expect(refused.fields.traceId).toEqual(expect.any(String));
  });
});

test('a peer that stops reading (memory transport): limit.slow_consumer at warn, 4201', async () => {
  const log = captureLog();
  harness = await startHarness({ logger: log.logger, limits: { maxBufferedBytes: 200 } });
  const peer = harness.raw();
  const welcome = await peer.handshake();
  (harness.sockets.at(-1) as unknown as { pause(): void }).pause();
  for (let id = 1; id <= 20; id++)
    peer.send({ type: 'call', id, command: 'math.add', input: { a: 1, b: 1 } });
  await until(() => log.events('limit.slow_consumer').length === 1, 2000, 'the slow-consumer line');
  expect(log.events('limit.slow_consumer')).toEqual([
    {
      level: 'warn',
      message: 'slow consumer closed',
      fields: {
        event: 'limit.slow_consumer',
        connectionId: welcome.connectionId,
        remoteAddress: 'memory',
        principal: 'anonymous',
        code: 4201,
        reason: 'send buffer over 200 bytes',
      },
    },
  ]);
  expect(log.lines.filter((l) => l.fields.connectionId === welcome.connectionId)).toHaveLength(1);
});

describe.each(TRANSPORTS)('a flood of 10,000 bad frames over %s', (kind) => {
  const remoteAddress = addressOf(kind);
  const unlimited = {
    ratePerSecond: 1e9,
    rateBurst: 1e9,
    connectRatePerAddress: 1e9,
    maxConnectionsPerAddress: 1e9,
  };

  test('from one connection: 20 lines, then its close line counts the 9,980 dropped', async () => {
    const log = captureLog();
    harness = await startHarness({ logger: log.logger, limits: unlimited }, {}, kind);
    const peer = harness.raw();
    await peer.handshake();
    for (let i = 0; i < 10_000; i++) peer.send('{"type":');
    await until(() => peer.frames.length >= 10_000, 20_000, '10,000 BAD_MESSAGE answers');
    peer.socket.close(1000, 'done');
    await until(() => log.events('connection.closed').length === 1, 5000, 'the close line');
    expect(log.events('message.bad')).toHaveLength(20);
    expect(log.events('connection.closed')[0]!.fields).toMatchObject({
      code: 1000,
      suppressed: 9_980,
      byServer: false,
    });
    expect(log.lines).toHaveLength(21);
  }, 30_000);

  test('from 500 connections of 20 bad frames each: 100 lines for the address, and one suppressed line counting the rest', async () => {
    const log = captureLog();
    harness = await startHarness({ logger: log.logger, limits: unlimited }, {}, kind);
    for (let c = 0; c < 500; c++) {
      const peer = harness.raw();
      await peer.handshake();
      for (let i = 0; i < 20; i++) peer.send('{"type":');
      await until(() => peer.frames.length >= 20, 5000, 'the answers');
      peer.socket.close(1000, 'again');
      await peer.closed;
    }
    await until(() => harness.server.list().length === 0, 5000, 'every connection closed');
    expect(log.lines).toHaveLength(100);
    await harness.server.close({ graceMs: 0 });
    // 500 × (20 bad frames + 1 close) = 10,500 events, 100 written.
    expect(log.lines.slice(100)).toEqual([
      {
        level: 'warn',
        message: 'log lines suppressed',
        fields: { event: 'log.suppressed', remoteAddress, key: `address ${remoteAddress}`, dropped: 10_400 },
      },
    ]);
  }, 60_000);
});
