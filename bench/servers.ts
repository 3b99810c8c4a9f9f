// One benchmark server in its own process: `node --import tsx bench/servers.ts <contender> [redis-url]`.
// Talks to the load generator over IPC: `ready` with its port, then answers cpu / memory / fanout requests.
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Server as SocketIoServer } from 'socket.io';
import { RedisBroker } from 'switchboard/redis';
import { anonymous, createServer, silentLogger } from 'switchboard/server';
import { type WebSocket, WebSocketServer } from 'ws';
import { benchProtocol } from './protocol.js';

export type Contender =
  | 'raw-ws'
  | 'batched-ws'
  | 'socket.io'
  | 'socket.io-redis'
  | 'switchboard'
  | 'switchboard-redis'
  /** Switchboard with its default limits: what the flood workload measures. */
  | 'switchboard-default-limits';
type Request =
  | { type: 'cpu' }
  | { type: 'memory' }
  | { type: 'exit' }
  | { type: 'loop-delay'; reset?: boolean }
  | { type: 'fanout'; count: number; data: string; bounded?: boolean };

const contender = process.argv[2] as Contender;
const redisUrl = process.argv[3];

/** Starts the contender; returns its port and how it broadcasts one message to every client. */
async function start(): Promise<{
  port: number;
  /** `bounded`: the slow-consumer feed (Switchboard's drop-oldest topic; the peers have no such thing). */
  broadcast: (seq: number, data: string, bounded?: boolean) => void;
}> {
  switch (contender) {
    case 'raw-ws':
    case 'batched-ws':
      return startWs(contender === 'batched-ws');
    case 'socket.io':
    case 'socket.io-redis':
      return startSocketIo();
    case 'switchboard':
    case 'switchboard-redis':
      return startSwitchboard();
    case 'switchboard-default-limits':
      return startSwitchboard(false);
  }
}

/** The minimal hand-written envelope: {id, method, params} → {id, result}; broadcast loops over clients. */
async function startWs(batched: boolean) {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });
  await new Promise((resolve) => wss.once('listening', resolve));
  const corked = new Set<WebSocket>();
  // Batched: cork each socket for the rest of the event-loop turn, so one turn = one write per socket.
  const cork = (ws: WebSocket) => {
    if (!batched || corked.has(ws)) return;
    const tcp = (ws as unknown as { _socket: import('node:net').Socket })._socket;
    tcp.cork();
    corked.add(ws);
    if (corked.size === 1) {
      setImmediate(() => {
        for (const socket of corked)
          (socket as unknown as { _socket: import('node:net').Socket })._socket.uncork();
        corked.clear();
      });
    }
  };
  wss.on('connection', (ws) => {
    ws.on('message', (data) => {
      const { id, params } = JSON.parse(String(data)) as { id: number; params: unknown };
      cork(ws);
      ws.send(JSON.stringify({ id, result: params }));
    });
  });
  return {
    port: (wss.address() as AddressInfo).port,
    broadcast(seq: number, data: string) {
      const text = JSON.stringify({ event: 'tick', payload: { seq, data } });
      // Batched builds the frame once (a Buffer) instead of converting the string per socket.
      const frame = batched ? Buffer.from(text) : text;
      for (const ws of wss.clients) {
        cork(ws);
        ws.send(frame, { binary: false });
      }
    },
  };
}

async function startSocketIo() {
  const http = createHttpServer();
  const io = new SocketIoServer(http, {
    transports: ['websocket'],
    perMessageDeflate: false,
    serveClient: false,
  });
  if (redisUrl) {
    // Socket.IO's own answer to several nodes: its Redis adapter over pub/sub.
    const { createAdapter } = await import('@socket.io/redis-adapter');
    const { Redis } = await import('ioredis');
    io.adapter(createAdapter(new Redis(redisUrl), new Redis(redisUrl)));
  }
  io.on('connection', (socket) => {
    void socket.join('feed');
    socket.on('echo', (params: unknown, ack: (result: unknown) => void) => ack(params));
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return {
    port: (http.address() as AddressInfo).port,
    broadcast(seq: number, data: string) {
      io.to('feed').emit('tick', { seq, data });
    },
  };
}

/** `benchLimits` false: the defaults, as a server that was not tuned for load generators. */
async function startSwitchboard(benchLimits = true) {
  const broker = redisUrl ? new RedisBroker({ redis: redisUrl }) : undefined;
  await broker?.ready();
  const server = await createServer({
    protocol: benchProtocol,
    port: 0,
    host: '127.0.0.1',
    logger: silentLogger,
    auth: anonymous(),
    // Load generators send far more than a person would, from one address: the limits are not what
    // is measured (except by the flood workload, which keeps the defaults).
    limits: benchLimits
      ? {
          ratePerSecond: 10_000_000,
          rateBurst: 10_000_000,
          maxInFlight: 1024,
          // A reader counts as behind past 4 MiB waiting: live readers of the slow-consumer feed never are.
          backpressureBytes: 4 * 1024 * 1024,
          maxConnectionsPerAddress: Number.POSITIVE_INFINITY,
          connectRatePerAddress: Number.POSITIVE_INFINITY,
          maxPendingHandshakes: Number.POSITIVE_INFINITY,
        }
      : {},
    ...(broker ? { broker } : {}),
    handlers: { rpc: { echo: (input) => input } },
  });
  return {
    port: server.port!,
    broadcast(seq: number, data: string, bounded?: boolean) {
      void server.publish(bounded ? 'feed.recent' : 'feed.ticks', {}, { seq, data });
    },
  };
}

const { port, broadcast } = await start();
/** How late the event loop runs what is due: what every connection waits on the others. */
const loopDelay = monitorEventLoopDelay({ resolution: 1 });
loopDelay.enable();
process.on('message', (request: Request) => {
  if (request.type === 'cpu') {
    const { user, system } = process.cpuUsage();
    process.send!({ type: 'cpu', micros: user + system });
  } else if (request.type === 'memory') {
    globalThis.gc?.();
    const { rss, heapUsed, external } = process.memoryUsage();
    process.send!({ type: 'memory', rss, heapUsed, external });
  } else if (request.type === 'loop-delay') {
    process.send!({ type: 'loop-delay', p99Ms: loopDelay.percentile(99) / 1e6, maxMs: loopDelay.max / 1e6 });
    if (request.reset) loopDelay.reset();
  } else if (request.type === 'exit') {
    // A normal exit, so that --cpu-prof writes its profile.
    process.exit(0);
  } else if (request.type === 'fanout') {
    if (!request.bounded) {
      for (let seq = 1; seq <= request.count; seq++) broadcast(seq, request.data);
    } else {
      // The slow-consumer feed is published as a steady stream, 20 a turn, so that readers that keep up
      // drain between turns; only the one that stopped reading falls behind.
      let seq = 0;
      const turn = () => {
        for (let n = 0; n < 20 && seq < request.count; n++) broadcast(++seq, request.data, true);
        if (seq < request.count) setImmediate(turn);
      };
      turn();
    }
  }
});
process.send!({ type: 'ready', port });
