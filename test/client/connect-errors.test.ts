import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { type AddressInfo, createServer as createTcpServer, type Server as TcpServer } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { WebSocket } from 'ws';
import {
  CAUSE_BODY_WAIT_MS,
  type Client,
  type ClientOptions,
  type ConnectAttempt,
  type ConnectCause,
  ConnectError,
  createClient,
  MAX_CAUSE_BODY_BYTES,
  type WebSocketConstructor,
  webSocketConnector,
} from '../../src/client/index.js';
import { type Authenticator, createServer, type Server, silentLogger } from '../../src/server/index.js';
import { testProtocol } from '../support/fixtures.js';
import { testHandlers } from '../support/harness.js';

type TestClient = Client<typeof testProtocol>;

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A client on the default connector (`ws` on Node), retrying fast so attempts can be counted. */
function client(options: Partial<ClientOptions<typeof testProtocol>> & { url: ClientOptions<any>['url'] }) {
  const made = createClient({
    protocol: testProtocol,
    reconnect: { initialDelayMs: 5, maxDelayMs: 5 },
    ...options,
  });
  cleanups.push(() => made.close());
  return made;
}

/** The next `count` failed attempts, as [cause, attempt]. */
function connectErrors(made: TestClient, count: number) {
  return new Promise<[ConnectCause | undefined, ConnectAttempt][]>((resolve) => {
    const seen: [ConnectCause | undefined, ConnectAttempt][] = [];
    const stop = made.onConnectError((error, attempt) => {
      expect(error).toBeInstanceOf(ConnectError);
      seen.push([error.cause, attempt]);
      if (seen.length === count) {
        stop();
        resolve(seen);
      }
    });
  });
}

async function firstConnectError(made: TestClient): Promise<[ConnectCause, ConnectAttempt]> {
  const [[cause, attempt]] = (await connectErrors(made, 1)) as [[ConnectCause, ConnectAttempt]];
  return [cause, attempt];
}

async function server(options: Partial<Parameters<typeof createServer<typeof testProtocol>>[0]> = {}) {
  const made: Server<typeof testProtocol> = await createServer({
    protocol: testProtocol,
    handlers: testHandlers(),
    host: '127.0.0.1',
    port: 0,
    logger: silentLogger,
    ...options,
  } as Parameters<typeof createServer<typeof testProtocol>>[0]);
  cleanups.push(() => made.close());
  return made;
}

async function listen<S extends HttpServer | TcpServer>(made: S): Promise<number> {
  await new Promise<void>((resolve) => made.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise((resolve) => made.close(resolve)));
  return (made.address() as AddressInfo).port;
}

/** A port nothing listens on: listened on, then closed. */
async function closedPort(): Promise<number> {
  const made = createTcpServer();
  await new Promise<void>((resolve) => made.listen(0, '127.0.0.1', resolve));
  const { port } = made.address() as AddressInfo;
  await new Promise((resolve) => made.close(resolve));
  return port;
}

/** The rejection of `promise`, which must reject. */
async function rejection(promise: Promise<unknown>): Promise<any> {
  return promise.then(
    () => expect.unreachable('resolved'),
    (error) => error,
  );
}

describe('a failed connect names its cause', () => {
  test('server down: refused with ECONNREFUSED, retried, and ready({ timeoutMs }) rejects with it', async () => {
    const port = await closedPort();
    const made = client({ url: `ws://127.0.0.1:${port}/`, offline: 'fail' });
    const reconnecting = new Promise<unknown>((resolve) =>
      made.onStateChange((state, detail) => state === 'reconnecting' && resolve(detail?.cause)),
    );
    const refused: ConnectCause = {
      kind: 'refused',
      code: 'ECONNREFUSED',
      message: `connect ECONNREFUSED 127.0.0.1:${port}`,
    };
    const attempts = await connectErrors(made, 3);
    expect(attempts.map(([cause]) => cause)).toEqual([refused, refused, refused]);
    expect(attempts.map(([, attempt]) => [attempt.attempt, attempt.retrying])).toEqual([
      [1, true],
      [2, true],
      [3, true],
    ]);
    expect(await reconnecting).toEqual(refused);
    expect(made.state).toBe('reconnecting');

    const notReady = await rejection(made.ready({ timeoutMs: 20 }));
    expect(notReady).toBeInstanceOf(ConnectError);
    expect(notReady.cause).toEqual(refused);
    expect(notReady.message).toBe(`not open within 20 ms: connect ECONNREFUSED 127.0.0.1:${port}`);

    // offline: 'fail' fails a call at once, with the cause.
    const call = await rejection(made.call('math.add', { a: 1, b: 2 }));
    expect([call.code, call.message, call.data]).toEqual([
      'NOT_CONNECTED',
      `not connected: connect ECONNREFUSED 127.0.0.1:${port}`,
      { cause: refused },
    ]);
  });

  test('a queued call that times out while the server is down says why it never left', async () => {
    const port = await closedPort();
    const made = client({ url: `ws://127.0.0.1:${port}/` });
    await connectErrors(made, 1);
    const error = await rejection(made.call('math.add', { a: 1, b: 2 }, { timeoutMs: 10 }));
    expect([error.code, error.message, error.data?.cause?.code]).toEqual([
      'TIMEOUT',
      `math.add timed out after 10 ms (not connected: connect ECONNREFUSED 127.0.0.1:${port})`,
      'ECONNREFUSED',
    ]);
  });

  test('wrong path on a Switchboard server: the HTTP 400 ws answers, not retried', async () => {
    const http = createHttpServer();
    let upgrades = 0;
    http.on('upgrade', () => upgrades++);
    const port = await listen(http);
    await server({ server: http, port: undefined, path: '/ws' });
    const made = client({ url: `ws://127.0.0.1:${port}/other` });
    const [cause, attempt] = await firstConnectError(made);
    const expected: ConnectCause = {
      kind: 'http',
      status: 400,
      message: 'upgrade refused with HTTP 400 Bad Request',
      body: 'Bad Request',
    };
    expect(cause).toEqual(expected);
    expect(attempt).toEqual({ attempt: 1, retrying: false });
    expect(made.state).toBe('closed');
    expect((await rejection(made.ready({ timeoutMs: 1000 }))).cause).toEqual(expected);
    expect(upgrades).toBe(1);
  });

  test('wrong path on a plain HTTP server: 404 with its body, not retried', async () => {
    let requests = 0;
    const http = createHttpServer((request, response) => {
      requests++;
      response.writeHead(404, { 'content-type': 'text/plain' }).end(`no route ${request.url}`);
    });
    const port = await listen(http);
    const made = client({ url: `ws://127.0.0.1:${port}/other` });
    const error = await rejection(made.ready({ timeoutMs: 5000 }));
    expect(error.cause).toEqual({
      kind: 'http',
      status: 404,
      message: 'upgrade refused with HTTP 404 Not Found',
      body: 'no route /other',
    });
    expect(made.state).toBe('closed');
    expect(requests).toBe(1);
  });

  test('verifyUpgrade refuses with 401 and a body: status and body, not retried', async () => {
    let checks = 0;
    const refusing = await server({
      verifyUpgrade: () => {
        checks++;
        return { status: 401, body: '{"error":"invalid token"}' };
      },
    });
    const made = client({ url: refusing.url });
    const error = await rejection(made.ready({ timeoutMs: 5000 }));
    const expected: ConnectCause = {
      kind: 'http',
      status: 401,
      message: 'upgrade refused with HTTP 401 Unauthorized',
      body: '{"error":"invalid token"}',
    };
    expect(error).toBeInstanceOf(ConnectError);
    expect(error.cause).toEqual(expected);
    expect(made.lastError?.cause).toEqual(expected);
    expect(made.state).toBe('closed');
    expect(checks).toBe(1);
    const call = await rejection(made.call('math.add', { a: 1, b: 1 }));
    expect([call.code, call.message, call.data]).toEqual([
      'NOT_CONNECTED',
      'upgrade refused with HTTP 401 Unauthorized',
      { cause: expected },
    ]);
  });

  test('a refusal body is kept to MAX_CAUSE_BODY_BYTES', async () => {
    const refusing = await server({ verifyUpgrade: () => ({ status: 403, body: 'é'.repeat(40_000) }) });
    const made = client({ url: refusing.url });
    const error = await rejection(made.ready());
    // 1024 bytes of two-byte characters: 512 of them, none cut in half.
    expect([error.cause.status, error.cause.body]).toEqual([403, 'é'.repeat(MAX_CAUSE_BODY_BYTES / 2)]);
  });

  test('a refusal whose body never ends is reported after CAUSE_BODY_WAIT_MS with what arrived', async () => {
    const sockets: import('node:net').Socket[] = [];
    const stalling = createTcpServer((socket) => {
      sockets.push(socket);
      socket.once('data', () =>
        socket.write('HTTP/1.1 401 Unauthorized\r\nContent-Length: 1000000\r\n\r\n{"error":"expired'),
      );
    });
    const port = await listen(stalling);
    cleanups.push(() => {
      for (const socket of sockets) socket.destroy();
    });
    const made = client({ url: `ws://127.0.0.1:${port}/`, connectTimeoutMs: 10 * CAUSE_BODY_WAIT_MS });
    expect((await rejection(made.ready())).cause).toEqual({
      kind: 'http',
      status: 401,
      message: 'upgrade refused with HTTP 401 Unauthorized',
      body: '{"error":"expired',
    });
    expect(sockets).toHaveLength(1);
  });

  test('503 with Retry-After is retried after the time the server asked for', async () => {
    let checks = 0;
    const busy = await server({
      verifyUpgrade: () => (++checks === 1 ? { status: 503, headers: { 'Retry-After': '1' } } : undefined),
    });
    const made = client({ url: busy.url });
    const [cause, attempt] = await firstConnectError(made);
    expect(cause).toEqual({
      kind: 'http',
      status: 503,
      message: 'upgrade refused with HTTP 503 Service Unavailable',
      // ws writes the status text as the body of a refusal that has none.
      body: 'Service Unavailable',
      retryAfterMs: 1000,
    });
    expect(attempt).toEqual({ attempt: 1, retrying: true, delayMs: 1000 });
    await made.ready({ timeoutMs: 5000 });
    expect(checks).toBe(2);
  });

  test('an invalid URL fails at once, with no socket and no retry', async () => {
    const made = client({ url: 'not a url' });
    expect(made.state).toBe('closed');
    const expected: ConnectCause = { kind: 'url', message: 'invalid URL "not a url"' };
    expect((await rejection(made.ready({ timeoutMs: 1000 }))).cause).toEqual(expected);
    const call = await rejection(made.call('math.add', { a: 1, b: 1 }));
    expect([call.code, call.data]).toEqual(['NOT_CONNECTED', { cause: expected }]);

    const ftp = client({ url: 'ftp://example.com/' });
    expect((await rejection(ftp.ready())).cause).toEqual({
      kind: 'url',
      message: 'invalid URL "ftp://example.com/": the scheme must be ws: or wss:, not ftp:',
    });
  });

  test('a URL function that returns garbage closes the client with cause url', async () => {
    const made = client({ url: async () => 'http//missing-colon' });
    expect((await rejection(made.ready())).cause).toEqual({
      kind: 'url',
      message: 'invalid URL "http//missing-colon"',
    });
  });

  test('a name that does not resolve: dns, retried', async () => {
    // RFC 6761: .invalid never resolves; without outside network the resolver fails either way.
    const made = client({ url: 'ws://nowhere.invalid/' });
    const [cause, attempt] = await firstConnectError(made);
    expect(cause.kind).toBe('dns');
    expect(['ENOTFOUND', 'EAI_AGAIN']).toContain(cause.code);
    expect(cause.message).toBe(`getaddrinfo ${cause.code} nowhere.invalid`);
    expect(attempt.retrying).toBe(true);
    expect((await rejection(made.ready({ timeoutMs: 1 }))).cause).toEqual(cause);
  });

  test("TLS to a server that speaks plain HTTP: tls with Node's code, retried", async () => {
    const port = await listen(createHttpServer((_request, response) => response.end('plain')));
    const made = client({ url: `wss://127.0.0.1:${port}/` });
    const [cause, attempt] = await firstConnectError(made);
    expect([cause.kind, cause.code, attempt.retrying]).toEqual(['tls', 'EPROTO', true]);
    expect(cause.message).toContain('wrong version number');
  });

  test('connect timeout: a listener that never answers the upgrade, retried', async () => {
    const connections: import('node:net').Socket[] = [];
    let secondArrived: () => void = () => {};
    const second = new Promise<void>((resolve) => (secondArrived = resolve));
    const silent = createTcpServer((socket) => {
      connections.push(socket);
      if (connections.length === 2) secondArrived();
    });
    const port = await listen(silent);
    cleanups.push(() => {
      for (const socket of connections) socket.destroy();
    });
    const made = client({ url: `ws://127.0.0.1:${port}/`, connectTimeoutMs: 50 });
    const [cause, attempt] = await firstConnectError(made);
    const expected: ConnectCause = {
      kind: 'timeout',
      message: 'not connected within 50 ms',
      closeCode: 4101,
    };
    expect(cause).toEqual(expected);
    expect(attempt.retrying).toBe(true);
    await second;
    expect(connections.length).toBeGreaterThanOrEqual(2);
    expect((await rejection(made.ready({ timeoutMs: 1 }))).cause).toEqual(expected);
  });

  test('refused after the upgrade (4100 from the authenticator): close code and reason, not retried', async () => {
    let authentications = 0;
    const auth: Authenticator = {
      authenticate: () => {
        authentications++;
        return { ok: false, reason: 'unknown API key' };
      },
    };
    const guarded = await server({ auth });
    const made = client({ url: guarded.url, credentials: { apiKey: 'wrong' } });
    const states: [string, ConnectCause | undefined][] = [];
    made.onStateChange((state, detail) => states.push([state, detail?.cause]));
    const error = await rejection(made.ready({ timeoutMs: 5000 }));
    const expected: ConnectCause = {
      kind: 'closed',
      message: 'unknown API key',
      closeCode: 4100,
      closeReason: 'unknown API key',
    };
    expect(error.cause).toEqual(expected);
    expect(error.closeCode).toBe(4100);
    expect(states).toEqual([['closed', expected]]);
    expect(authentications).toBe(1);
  });

  test('in a browser only the close code is known: kind network, 1006', async () => {
    const port = await closedPort();
    /** The WHATWG API and nothing more, as a browser's: no `on`, an error event without the error. */
    class BrowserWebSocket {
      private readonly inner: WebSocket;
      binaryType = 'arraybuffer';
      onopen: ((event: unknown) => void) | null = null;
      onmessage: ((event: { data: unknown }) => void) | null = null;
      onclose: ((event: { code: number; reason: string }) => void) | null = null;
      onerror: ((event: unknown) => void) | null = null;
      constructor(url: string) {
        this.inner = new WebSocket(url);
        this.inner.on('error', () => this.onerror?.({ type: 'error' }));
        this.inner.on('close', (code, reason) => this.onclose?.({ code, reason: reason.toString() }));
      }
      get bufferedAmount() {
        return this.inner.bufferedAmount;
      }
      get readyState() {
        return this.inner.readyState;
      }
      send(data: string) {
        this.inner.send(data);
      }
      close(code?: number, reason?: string) {
        this.inner.close(code, reason);
      }
    }
    const made = client({
      url: `ws://127.0.0.1:${port}/`,
      connect: webSocketConnector(BrowserWebSocket as unknown as WebSocketConstructor),
    });
    const [cause] = await firstConnectError(made);
    expect(cause).toEqual({
      kind: 'network',
      message: 'connection closed with 1006 before it opened',
      closeCode: 1006,
    });
  });
});
