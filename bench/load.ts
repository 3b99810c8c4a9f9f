// Load-generator clients, one per contender, all behind the same small interface.
import { io } from 'socket.io-client';
import { createClient, type WebSocketConstructor, webSocketConnector } from 'switchboard/client';
import { WebSocket } from 'ws';
import { benchProtocol } from './protocol.js';
import type { Contender } from './servers.js';

export interface LoadClient {
  call(n: number): Promise<void>;
  /** Follows the broadcast feed (`bounded`: the slow-consumer feed); resolves once following. */
  follow(onTick: () => void, bounded?: boolean): Promise<void>;
  /** Stops reading from the socket, as a client on a stalled network or a frozen tab. */
  pause(): void;
  close(): void;
}

/** The TCP socket under a `ws` WebSocket: what a stalled reader stops reading. */
const tcpOf = (ws: unknown) => (ws as { _socket: import('node:net').Socket })._socket;

export async function connect(contender: Contender, port: number): Promise<LoadClient> {
  if (contender === 'socket.io' || contender === 'socket.io-redis') return connectSocketIo(port);
  if (contender.startsWith('switchboard')) return connectSwitchboard(port);
  return connectWs(port);
}

async function connectWs(port: number): Promise<LoadClient> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}`, { perMessageDeflate: false });
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  const pending = new Map<number, () => void>();
  let onTick: (() => void) | undefined;
  let nextId = 1;
  ws.on('message', (data) => {
    const message = JSON.parse(String(data)) as { id?: number; event?: string };
    if (message.id !== undefined) {
      pending.get(message.id)?.();
      pending.delete(message.id);
    } else if (message.event) onTick?.();
  });
  return {
    call(n) {
      const id = nextId++;
      return new Promise((resolve) => {
        pending.set(id, resolve);
        ws.send(JSON.stringify({ id, method: 'echo', params: { n } }));
      });
    },
    async follow(listener) {
      onTick = listener;
    },
    pause: () => tcpOf(ws).pause(),
    close: () => ws.terminate(),
  };
}

async function connectSocketIo(port: number): Promise<LoadClient> {
  const socket = io(`http://127.0.0.1:${port}`, {
    transports: ['websocket'],
    forceNew: true,
    reconnection: false,
  });
  await new Promise((resolve, reject) =>
    socket.once('connect', () => resolve(undefined)).once('connect_error', reject),
  );
  return {
    async call(n) {
      await socket.emitWithAck('echo', { n });
    },
    async follow(listener) {
      socket.on('tick', listener);
    },
    // engine.io's websocket transport holds a `ws` WebSocket on Node.
    pause: () => tcpOf((socket.io.engine.transport as unknown as { ws: unknown }).ws).pause(),
    close: () => socket.disconnect(),
  };
}

async function connectSwitchboard(port: number): Promise<LoadClient> {
  let opened: WebSocket | undefined;
  // Keeps the WebSocket the client opens, so the benchmark can stop reading from it.
  const Capturing = class extends WebSocket {
    constructor(url: string) {
      super(url, { perMessageDeflate: false });
      opened = this;
    }
  };
  const client = createClient({
    protocol: benchProtocol,
    url: `ws://127.0.0.1:${port}`,
    reconnect: false,
    connect: webSocketConnector(Capturing as unknown as WebSocketConstructor),
  });
  await client.ready();
  return {
    async call(n) {
      await client.call('rpc.echo', { n });
    },
    async follow(listener, bounded) {
      await client.subscribe(bounded ? 'feed.recent' : 'feed.ticks', {}, listener).ready;
    },
    pause: () => tcpOf(opened).pause(),
    close: () => client.close(),
  };
}
