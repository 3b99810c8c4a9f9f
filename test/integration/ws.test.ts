import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { WebSocket } from 'ws';
import { createClient } from '../../src/client/index.js';
import { anonymous, createServer, type Server, type ServerOptions } from '../../src/server/index.js';
import { testProtocol } from '../support/fixtures.js';
import { recordingLogger, type TestProtocol, testHandlers } from '../support/harness.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function start(options: Partial<ServerOptions<TestProtocol>> = {}) {
  const closes: [number, string][] = [];
  const server = await createServer({
    protocol: testProtocol,
    handlers: testHandlers(),
    port: 0,
    host: '127.0.0.1',
    auth: anonymous(['*']),
    logger: recordingLogger().logger,
    onDisconnect: (_connection, code, reason) => closes.push([code, reason]),
    ...options,
  });
  cleanups.push(() => server.close({ graceMs: 10 }));
  return { server, closes };
}

function client(server: Server<TestProtocol>) {
  const c = createClient({ protocol: testProtocol, url: server.url, reconnect: false });
  cleanups.push(() => c.close());
  return c;
}

/** A raw `ws` peer: sends what it is told, records what it gets. */
async function rawPeer(url: string) {
  const ws = new WebSocket(url);
  cleanups.push(() => ws.terminate());
  const messages: any[] = [];
  let wake: (() => void) | undefined;
  ws.on('message', (data, isBinary) => {
    messages.push(isBinary ? data : JSON.parse(String(data)));
    wake?.();
  });
  const closed = new Promise<[number, string]>((resolve) =>
    ws.on('close', (code, reason) => resolve([code, String(reason)])),
  );
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  const next = async () => {
    while (!messages.length) await new Promise<void>((resolve) => (wake = resolve));
    return messages.shift();
  };
  const send = (value: unknown) =>
    ws.send(typeof value === 'string' || Buffer.isBuffer(value) ? value : JSON.stringify(value));
  const handshake = async () => {
    send({ type: 'hello', wire: 1, protocol: 'test', version: '1.0.0' });
    const welcome = await next();
    expect(welcome.type).toBe('welcome');
  };
  return { ws, next, send, closed, handshake };
}

describe('over real ws on loopback', () => {
  test('a client calls, streams and receives events', async () => {
    const { server } = await start();
    const c = client(server);
    expect(await c.call('math.add', { a: 20, b: 22 })).toEqual({ sum: 42 });
    const pushed: string[] = [];
    c.on('logs.appended', (p) => pushed.push(p.line));
    const lines: string[] = [];
    for await (const item of c.stream('logs.tail', { count: 3 })) lines.push(item.line);
    expect(lines).toEqual(['line 0', 'line 1', 'line 2']);
    expect(pushed).toEqual(['pushed 0', 'pushed 1', 'pushed 2']);
  });

  test('attaches to an existing http server on a path, leaving its other routes alone', async () => {
    const http = createHttpServer((_request, response) => response.end('plain http'));
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => http.close(resolve)));
    const port = (http.address() as AddressInfo).port;
    const server = await createServer({
      protocol: testProtocol,
      handlers: testHandlers(),
      server: http,
      path: '/ws',
      auth: anonymous(['*']),
      logger: recordingLogger().logger,
    });
    cleanups.push(() => server.close({ graceMs: 10 }));
    expect(server.port).toBe(port);
    const c = createClient({ protocol: testProtocol, url: `ws://127.0.0.1:${port}/ws`, reconnect: false });
    cleanups.push(() => c.close());
    expect(await c.call('math.add', { a: 1, b: 1 })).toEqual({ sum: 2 });
    expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe('plain http');
  });

  test('bad frames get their documented answer and never disturb another connection', async () => {
    const { server } = await start({ limits: { maxMessageBytes: 4096 } });
    const bystander = client(server);
    await bystander.ready();

    const malformed = await rawPeer(server.url);
    await malformed.handshake();
    malformed.send('{"type":"call",');
    expect(await malformed.next()).toMatchObject({ type: 'error', code: 'BAD_MESSAGE' });

    const binary = await rawPeer(server.url);
    await binary.handshake();
    binary.send(Buffer.from([0xde, 0xad]));
    expect(await binary.closed).toEqual([1003, 'binary frame on the JSON wire']);

    const oversize = await rawPeer(server.url);
    await oversize.handshake();
    oversize.send({ type: 'call', id: 1, command: 'math.add', input: { pad: 'z'.repeat(10_000) } });
    expect((await oversize.closed)[0]).toBe(1009);

    const silent = await rawPeer(server.url);
    expect(silent.ws.readyState).toBe(WebSocket.OPEN);

    expect(await bystander.call('math.add', { a: 2, b: 3 })).toEqual({ sum: 5 });
    expect(bystander.state).toBe('open');
  });

  test('a handshake that never comes is closed with 4101', async () => {
    const { server } = await start({ limits: { handshakeTimeoutMs: 80 } });
    const peer = await rawPeer(server.url);
    expect(await peer.closed).toEqual([4101, 'no hello within 80 ms']);
  });

  test('a flood of calls is rate limited, then closed with 4202, while another client keeps working', async () => {
    const { server } = await start({ limits: { ratePerSecond: 50, rateBurst: 50 } });
    const bystander = client(server);
    await bystander.ready();
    const flood = await rawPeer(server.url);
    await flood.handshake();
    for (let id = 1; id <= 400; id++)
      flood.send({ type: 'call', id, command: 'math.add', input: { a: 1, b: 1 } });
    const [code, reason] = await flood.closed;
    expect([code, reason]).toEqual([4202, 'kept sending past the rate limit']);
    expect(await bystander.call('math.add', { a: 1, b: 2 })).toEqual({ sum: 3 });
  });

  test('a client that never reads is closed with 4201; the server buffer stays bounded', async () => {
    const maxBufferedBytes = 512 * 1024;
    const { server, closes } = await start({ limits: { maxBufferedBytes } });
    const bystander = client(server);
    await bystander.ready();
    let received = 0;
    bystander.on('logs.appended', () => received++);
    const stalled = await rawPeer(server.url);
    await stalled.handshake();
    // Stop reading at the TCP level: the kernel buffers fill, then the server's send buffer grows.
    (stalled.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const line = 'p'.repeat(64 * 1024);
    let sent = 0;
    while (!closes.length && sent < 2000) {
      server.broadcast('logs.appended', { line });
      sent++;
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(closes[0]).toEqual([4201, `send buffer over ${maxBufferedBytes} bytes`]);
    await expect.poll(() => received, { timeout: 10_000 }).toBe(sent);
    expect(server.list()).toHaveLength(1);
  });
});

test('server.url is a usable URL for IPv6 and wildcard hosts', async () => {
  for (const [host, expected] of [
    ['::1', /^ws:\/\/\[::1\]:\d+$/],
    ['0.0.0.0', /^ws:\/\/127\.0\.0\.1:\d+$/],
  ] as const) {
    const server = await createServer({
      protocol: testProtocol,
      handlers: testHandlers(),
      port: 0,
      host,
      logger: recordingLogger().logger,
    });
    expect(server.url).toMatch(expected);
    const c = createClient({ protocol: testProtocol, url: server.url, reconnect: false });
    expect(await c.call('math.add', { a: 1, b: 1 })).toEqual({ sum: 2 });
    c.close();
    await server.close({ graceMs: 10 });
  }
});
