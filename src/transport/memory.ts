import type { Frame } from '../wire/format.js';
import {
  type Connector,
  closeReason,
  type ServerTransport,
  type Socket,
  type SocketListener,
  type UpgradeRequest,
  type VerifyUpgrade,
} from './socket.js';

type Delivery = { kind: 'message'; frame: Frame } | { kind: 'close'; code: number; reason: string };

/**
 * One end of an in-memory connection. Frames arrive asynchronously and in order, as on a network.
 * `pause()` stops reading, so the other end's `bufferedAmount` grows: a client that never reads.
 */
export class MemorySocket implements Socket {
  peer!: MemorySocket;
  private listener: SocketListener | undefined;
  private readonly inbox: Delivery[] = [];
  private inboxBytes = 0;
  private paused = false;
  private scheduled = false;
  private closing = false;
  private closed = false;

  constructor(
    /** Frames this end receives above this size close the connection with 1009, as `ws` does. */
    private readonly maxPayload: number,
  ) {}

  /** Like a kernel socket buffer, a reading peer absorbs everything; only a paused one makes data pile up. */
  get bufferedAmount(): number {
    return this.peer.paused ? this.peer.inboxBytes : 0;
  }

  send(frame: Frame): void {
    if (this.closing) return;
    const size = typeof frame === 'string' ? Buffer.byteLength(frame) : frame.byteLength;
    if (size > this.peer.maxPayload) {
      this.peer.closeBoth(1009, 'Max payload size exceeded');
      return;
    }
    this.peer.enqueue({ kind: 'message', frame: typeof frame === 'string' ? frame : frame.slice() }, size);
  }

  close(code: number, reason?: string): void {
    if (this.closing) return;
    this.closeBoth(code, closeReason(reason));
  }

  terminate(): void {
    if (this.closed) return;
    if (this.closing) {
      // A close frame already went out, as ws would have written it before dropping the socket:
      // the peer still gets it, and this end reads nothing more.
      for (let i = this.inbox.length - 1; i >= 0; i--)
        if (this.inbox[i]!.kind === 'message') this.inbox.splice(i, 1);
      return;
    }
    this.closing = this.peer.closing = true;
    this.inbox.length = this.peer.inbox.length = 0;
    this.inboxBytes = this.peer.inboxBytes = 0;
    this.enqueue({ kind: 'close', code: 1006, reason: '' }, 0);
    this.peer.enqueue({ kind: 'close', code: 1006, reason: '' }, 0, true);
  }

  listen(listener: SocketListener): void {
    this.listener = listener;
    this.schedule();
  }

  /** As ws and browsers do, the peer answers a ping frame by itself, unless it has stopped reading. */
  ping(): void {
    if (this.closing) return;
    setImmediate(() => {
      if (!this.closing && !this.peer.paused) this.listener?.pong?.();
    });
  }

  /** Tells the listener the connection is open (the in-memory "upgrade" finished). */
  announceOpen(): void {
    this.listener?.open?.();
  }

  /** Stops delivering incoming frames, as a client that stops reading its socket. */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.schedule();
  }

  /** Closes both ends with the same code, after the frames already in flight (as a close frame would). */
  private closeBoth(code: number, reason: string): void {
    this.closing = this.peer.closing = true;
    this.enqueue({ kind: 'close', code, reason }, 0, true);
    this.peer.enqueue({ kind: 'close', code, reason }, 0, true);
  }

  private enqueue(delivery: Delivery, size: number, force = false): void {
    if (this.closed || (this.closing && !force && delivery.kind === 'message')) return;
    this.inbox.push(delivery);
    this.inboxBytes += size;
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled || !this.listener) return;
    this.scheduled = true;
    setImmediate(() => this.drain());
  }

  private drain(): void {
    this.scheduled = false;
    const listener = this.listener;
    if (!listener) return;
    while (this.inbox.length && !this.closed) {
      const next = this.inbox[0]!;
      // A paused reader still learns that the connection closed; it just reads no more data.
      if (this.paused && next.kind === 'message') {
        const closeAt = this.inbox.findIndex((entry) => entry.kind === 'close');
        if (closeAt < 0) return;
        this.inbox.splice(0, closeAt);
        continue;
      }
      this.inbox.shift();
      if (next.kind === 'message') {
        this.inboxBytes -=
          typeof next.frame === 'string' ? Buffer.byteLength(next.frame) : next.frame.byteLength;
        try {
          listener.message(next.frame);
        } catch {
          // As the ws transport does: a throwing listener ends this connection, not the process.
          this.close(1011, 'internal error');
        }
      } else {
        this.closed = true;
        this.closing = true;
        this.inboxBytes = 0;
        listener.close(next.code, next.reason);
      }
    }
  }
}

export interface MemoryTransport {
  /** Give this to the server as its `transport`. */
  readonly server: ServerTransport;
  /** Give this to the client as its `connect`. */
  readonly connect: Connector;
  /** The client end of each connection made so far, newest last (to pause one in a test). */
  readonly clientSockets: MemorySocket[];
}

/**
 * A client–server pair without a network, for fast tests. The URL's path, query and headers are
 * passed to the server as the upgrade request; `maxPayload` mirrors the ws server's limit.
 */
export function memoryTransport(
  options: { maxPayload?: number; headers?: Record<string, string> } = {},
): MemoryTransport {
  const maxPayload = options.maxPayload ?? 1024 * 1024;
  let accept: ((socket: Socket, request: UpgradeRequest) => void) | undefined;
  let verify: VerifyUpgrade | undefined;
  const clientSockets: MemorySocket[] = [];
  return {
    clientSockets,
    server: {
      async start(onAccept, verifyUpgrade) {
        accept = onAccept;
        verify = verifyUpgrade;
      },
      async stop() {
        accept = undefined;
      },
    },
    connect(url: string) {
      // Client ends accept any size; the server's limit is what matters for tests.
      const client = new MemorySocket(Number.POSITIVE_INFINITY);
      const server = new MemorySocket(maxPayload);
      client.peer = server;
      server.peer = client;
      clientSockets.push(client);
      const target = accept;
      const check = verify;
      setImmediate(async () => {
        if (!target) {
          client.close(1006, 'connection refused');
          return;
        }
        const parsed = new URL(url, 'memory://local');
        const request = {
          url: parsed.pathname + parsed.search,
          headers: { ...options.headers },
          remoteAddress: 'memory',
        };
        // No HTTP here: a refused upgrade shows as close 1008 with the refusal's body as the reason.
        const refusal = await Promise.resolve(check?.(request)).catch(() => ({
          status: 500,
          body: 'upgrade check failed',
        }));
        if (refusal) {
          client.close(1008, refusal.body ?? String(refusal.status));
          return;
        }
        target(server, request);
        client.announceOpen();
      });
      return client;
    },
  };
}
