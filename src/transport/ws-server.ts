import type { Server as HttpServer, IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type RawData, type WebSocket, WebSocketServer } from 'ws';
import type { Frame } from '../wire/format.js';
import {
  closeReason,
  type ServerTransport,
  type Socket,
  type SocketListener,
  type UpgradeRequest,
  type VerifyUpgrade,
} from './socket.js';

export interface WsServerOptions {
  /** Listen on this port (0 picks a free one). Ignored when `server` is given. */
  readonly port?: number;
  readonly host?: string;
  /** Attach to an existing http server (Express, Fastify, Koa... all expose one). */
  readonly server?: HttpServer;
  /** Only upgrade requests to this path; others get 400 from `ws`. */
  readonly path?: string;
  /** Frames larger than this close the connection with 1009. */
  readonly maxPayload: number;
}

export interface WsServerTransport extends ServerTransport {
  /** The port actually listened on, once started. */
  port(): number;
}

/** A ServerTransport on the `ws` package. */
export function wsServerTransport(options: WsServerOptions): WsServerTransport {
  let wss: WebSocketServer | undefined;
  return {
    async start(accept, verifyUpgrade) {
      wss = new WebSocketServer({
        ...(options.server ? { server: options.server } : { port: options.port ?? 0, host: options.host }),
        path: options.path,
        maxPayload: options.maxPayload,
        // Compression costs CPU on every frame and opens the door to compression bombs; off by default.
        perMessageDeflate: false,
        ...(verifyUpgrade ? { verifyClient: verifier(verifyUpgrade) } : {}),
      });
      wss.on('connection', (ws, request) => accept(wrap(ws), upgradeRequest(request)));
      if (!options.server) {
        await new Promise<void>((resolve, reject) => {
          wss!.once('listening', resolve);
          wss!.once('error', reject);
        });
      }
    },
    async stop() {
      const server = wss;
      if (!server) return;
      // ws.close() leaves open sockets alone and closes the http server only if it made it.
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
    port() {
      if (options.server) return (options.server.address() as AddressInfo).port;
      return (wss?.address() as AddressInfo | undefined)?.port ?? 0;
    },
  };
}

function upgradeRequest(request: IncomingMessage): UpgradeRequest {
  return { url: request.url ?? '/', headers: request.headers, remoteAddress: request.socket.remoteAddress };
}

/** ws's asynchronous `verifyClient`: its callback writes the status, headers and body before any upgrade. */
function verifier(verifyUpgrade: VerifyUpgrade) {
  return (
    info: { req: IncomingMessage },
    done: (ok: boolean, status?: number, body?: string, headers?: Record<string, string>) => void,
  ) => {
    let verdict: ReturnType<VerifyUpgrade>;
    try {
      verdict = verifyUpgrade(upgradeRequest(info.req));
    } catch {
      // A check that throws must not let the request through, nor say why (it may hold internals).
      verdict = { status: 500, body: 'upgrade check failed' };
    }
    Promise.resolve(verdict).then(
      (refusal) =>
        refusal ? done(false, refusal.status, refusal.body ?? '', { ...refusal.headers }) : done(true),
      () => done(false, 500, 'upgrade check failed'),
    );
  };
}

function wrap(ws: WebSocket): Socket {
  // Cork the TCP socket for the rest of the event-loop turn so that every frame sent in one turn
  // leaves in one write system call: on fan-out the number of writes decides the speed.
  const tcp = (ws as unknown as { _socket?: import('node:net').Socket })._socket;
  let corked = false;
  const uncork = () => {
    if (!corked) return;
    corked = false;
    tcp?.uncork();
  };
  /** Set once the socket is dropped: frames `ws` still parses from the last chunk read are ignored. */
  let dropped = false;
  /** The code `ws` closed with after refusing a frame, reported instead of the 1006 of a dropped socket. */
  let refusedWith: number | undefined;
  const drop = () => {
    dropped = true;
    // The close frame may sit in the cork buffer: hand it to the kernel before the socket goes.
    uncork();
    ws.terminate();
  };
  // ws has already sent a close frame (1002, 1007, 1008 or 1009) for a frame it refused: such a peer
  // is broken or hostile, so it is dropped at once instead of given ws's 30 s to answer.
  // Without a handler the error would crash the process.
  ws.on('error', (error: Error & { code?: string }) => {
    refusedWith = wsErrorCloseCode(error.code);
    drop();
  });
  /** Whether the socket is open; corks it for the rest of this turn on the first send. */
  const ready = () => {
    if (ws.readyState !== ws.OPEN) return false;
    if (!corked && tcp) {
      corked = true;
      tcp.cork();
      setImmediate(uncork);
    }
    return true;
  };
  return {
    send(frame: Frame) {
      if (ready()) ws.send(frame);
    },
    sendText(utf8: Uint8Array) {
      if (ready()) ws.send(utf8, { binary: false });
    },
    close(code, reason) {
      ws.close(code, closeReason(reason));
    },
    terminate() {
      drop();
    },
    limitFrames(maxBytes: number) {
      // ws has one maxPayload per server and declined a per-socket one (websockets/ws#1473), so the
      // smaller pre-welcome limit is set on this socket's Receiver, which checks `_maxPayload` against
      // each frame header as it arrives (ws 8.x; test/integration/floods.test.ts checks the installed
      // version). Were the field gone, the server's own check of whole frames still holds.
      const receiver = (ws as unknown as { _receiver?: { _maxPayload?: unknown } })._receiver;
      if (receiver && typeof receiver._maxPayload === 'number') receiver._maxPayload = maxBytes;
    },
    ping(data?: Uint8Array) {
      if (ws.readyState === ws.OPEN) ws.ping(data);
    },
    get bufferedAmount() {
      return ws.bufferedAmount;
    },
    listen(listener: SocketListener) {
      ws.on('message', (data: RawData, isBinary: boolean) => {
        if (dropped) return;
        try {
          listener.message(isBinary ? toBytes(data) : data.toString());
        } catch {
          // The server guards its own listener; this is the last line: a throw here would leave
          // ws's parser and kill the process. It ends this socket only.
          ws.close(1011, 'internal error');
        }
      });
      ws.on('pong', () => listener.pong?.());
      ws.once('close', (code, reason) => listener.close(refusedWith ?? code, reason.toString()));
    },
  };
}

/** The close code ws sent with the error it raised for a refused frame (see ws's receiver.js). */
function wsErrorCloseCode(code: string | undefined): number | undefined {
  // Errors that are not about a frame (a failed write) come with no close frame.
  if (!code?.startsWith('WS_ERR_')) return undefined;
  switch (code) {
    case 'WS_ERR_INVALID_UTF8':
      return 1007;
    case 'WS_ERR_TOO_MANY_BUFFERED_PARTS':
      return 1008;
    case 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH':
    case 'WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH':
      return 1009;
    default:
      return 1002;
  }
}

function toBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  return data instanceof ArrayBuffer ? new Uint8Array(data) : data;
}
