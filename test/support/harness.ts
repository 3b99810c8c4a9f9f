import { WebSocket } from 'ws';
import { type Client, type ClientOptions, createClient } from '../../src/client/index.js';
import {
  anonymous,
  createServer,
  type Handlers,
  type Logger,
  type Server,
  type ServerOptions,
} from '../../src/server/index.js';
import { type MemoryTransport, memoryTransport } from '../../src/transport/memory.js';
import type { Socket } from '../../src/transport/socket.js';
import { type WebSocketConstructor, webSocketConnector } from '../../src/transport/websocket.js';
import type { Frame } from '../../src/wire/format.js';
import { testProtocol } from './fixtures.js';

export type TestProtocol = typeof testProtocol;

/** A logger that remembers what it was told, so tests can assert on it. */
export function recordingLogger() {
  const records: { level: string; message: string; fields: Record<string, unknown> }[] = [];
  const logger: Logger = {
    error: (message, fields = {}) => records.push({ level: 'error', message, fields }),
    warn: (message, fields = {}) => records.push({ level: 'warn', message, fields }),
    info: (message, fields = {}) => records.push({ level: 'info', message, fields }),
  };
  return { logger, records };
}

/** Handlers for the test protocol; `wait` reports whether its signal fired, and records it. */
export function testHandlers(observed: { aborts: string[] } = { aborts: [] }): Handlers<TestProtocol> {
  return {
    math: {
      add: ({ a, b }) => ({ sum: a + b }),
      divide: ({ a, b }, ctx) =>
        b === 0 ? ctx.fail('DIVIDE_BY_ZERO', `cannot divide ${a} by zero`, { a }) : a / b,
    },
    slow: {
      wait: ({ ms }, ctx) =>
        new Promise((resolve) => {
          const timer = setTimeout(() => resolve({ aborted: false }), ms);
          ctx.signal.addEventListener('abort', () => {
            clearTimeout(timer);
            const reason = ctx.signal.reason as { code?: string };
            observed.aborts.push(reason.code ?? String(reason));
            resolve({ aborted: true });
          });
        }),
      crash: () => {
        throw new Error('database exploded');
      },
      lie: () => ({ n: 'not a number' }) as unknown as { n: number },
    },
    logs: {
      async *tail({ count }, ctx) {
        for (let i = 0; i < count; i++) {
          ctx.push('logs.appended', { line: `pushed ${i}` });
          yield { line: `line ${i}` };
        }
      },
      async *forever(_input, ctx) {
        let n = 0;
        try {
          while (!ctx.signal.aborted) {
            yield n++;
            await new Promise((resolve) => setTimeout(resolve, 5));
          }
        } finally {
          observed.aborts.push('forever-stopped');
        }
      },
    },
  };
}

/** Where a harness runs: the in-memory pair, or a real `ws` server on loopback. */
export type TransportKind = 'memory' | 'ws';
export const TRANSPORTS: TransportKind[] = ['memory', 'ws'];

export interface Harness {
  server: Server<TestProtocol>;
  /** The in-memory transport, when the harness runs on one (for pause() and friends). */
  transport: MemoryTransport;
  /** The client end of every connection opened so far, newest last, whatever the transport. */
  sockets: Socket[];
  records: ReturnType<typeof recordingLogger>['records'];
  observed: { aborts: string[] };
  client(options?: Partial<ClientOptions<TestProtocol>>): Client<TestProtocol>;
  raw(url?: string): RawPeer;
  /** Opens a client socket to the server, over the harness's transport. */
  connect(url: string): Socket;
  close(): Promise<void>;
}

/** A server on the in-memory transport, with clients and raw sockets that all get closed afterwards. */
export async function startHarness(
  options: Partial<ServerOptions<TestProtocol>> = {},
  transportOptions: Parameters<typeof memoryTransport>[0] = {},
  kind: TransportKind = 'memory',
): Promise<Harness> {
  const transport = memoryTransport(transportOptions);
  const { logger, records } = recordingLogger();
  const observed = { aborts: [] as string[] };
  const server = await createServer({
    protocol: testProtocol,
    handlers: testHandlers(observed),
    ...(kind === 'memory' ? { transport: transport.server } : { port: 0, host: '127.0.0.1' }),
    auth: anonymous(['*']),
    logger,
    ...options,
  });
  const sockets: Socket[] = [];
  // Over ws, the upgrade request carries the same headers the memory transport would.
  const headers = transportOptions.headers ?? {};
  const WebSocketWithHeaders = class extends WebSocket {
    constructor(url: string) {
      super(url, { headers });
    }
  };
  const wsConnector = webSocketConnector(WebSocketWithHeaders as unknown as WebSocketConstructor);
  const connect = (url: string): Socket => {
    const parsed = new URL(url, 'memory://test');
    const socket =
      kind === 'memory'
        ? transport.connect(url)
        : wsConnector(`ws://127.0.0.1:${server.port}${parsed.pathname}${parsed.search}`);
    sockets.push(socket);
    return socket;
  };
  const clients: Client<TestProtocol>[] = [];
  const raws: RawPeer[] = [];
  return {
    server,
    transport,
    sockets,
    records,
    observed,
    connect,
    client(clientOptions = {}) {
      const client = createClient({
        // The server's own protocol: a client of another contract is refused (4102) by the contract check.
        protocol: (options.protocol ?? testProtocol) as TestProtocol,
        url: 'memory://test',
        connect,
        ...clientOptions,
      });
      clients.push(client);
      return client;
    },
    raw(url = '/') {
      const peer = new RawPeer(connect(url));
      raws.push(peer);
      return peer;
    },
    async close() {
      for (const client of clients) client.close();
      for (const raw of raws) raw.socket.close(1000);
      await server.close({ graceMs: 50 });
    },
  };
}

/** A socket driven by hand, for frames no well-behaved client would send. */
export class RawPeer {
  readonly frames: Frame[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private waiters: (() => void)[] = [];
  private opened = false;
  private readonly unsent: Frame[] = [];

  constructor(readonly socket: Socket) {
    let resolveClosed!: (value: { code: number; reason: string }) => void;
    this.closed = new Promise((resolve) => {
      resolveClosed = resolve;
    });
    socket.listen({
      open: () => {
        this.opened = true;
        for (const frame of this.unsent.splice(0)) this.socket.send(frame);
      },
      message: (frame) => {
        this.frames.push(frame);
        for (const waiter of this.waiters.splice(0)) waiter();
      },
      close: (code, reason) => {
        resolveClosed({ code, reason });
        for (const waiter of this.waiters.splice(0)) waiter();
      },
    });
  }

  /** Sends now, or as soon as the socket is open (a real WebSocket drops frames sent before that). */
  send(frame: Frame | object): void {
    const encoded = typeof frame === 'string' || frame instanceof Uint8Array ? frame : JSON.stringify(frame);
    if (this.opened) this.socket.send(encoded);
    else this.unsent.push(encoded);
  }

  /** Sends a valid hello for the test protocol and waits for the welcome. */
  async handshake(credentials?: unknown): Promise<Record<string, unknown>> {
    this.send({ type: 'hello', wire: 1, protocol: 'test', version: '1.0.0', credentials });
    return this.next((message) => message.type === 'welcome');
  }

  /** Waits for the next decoded JSON message matching `predicate` (messages are consumed in order). */
  async next(
    predicate: (message: Record<string, any>) => boolean = () => true,
    timeoutMs = 2000,
  ): Promise<Record<string, any>> {
    const deadline = Date.now() + timeoutMs;
    let seen = 0;
    for (;;) {
      while (seen < this.frames.length) {
        const frame = this.frames[seen++];
        const message = typeof frame === 'string' ? JSON.parse(frame) : undefined;
        if (message && predicate(message)) {
          this.frames.splice(0, seen);
          return message;
        }
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0)
        throw new Error(`no matching message within ${timeoutMs} ms; got ${JSON.stringify(this.frames)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}

/** Resolves when `check` passes, polling on each turn of the event loop; fails the test after `timeoutMs`. */
export async function until(check: () => boolean, timeoutMs = 2000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}
