import type { Server as HttpServer, IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type RawData, type WebSocket, WebSocketServer } from 'ws';
import {
  closeReason,
  type ServerTransport,
  type Socket,
  type SocketListener,
  type UpgradeRequest,
  type VerifyUpgrade,
} from '../../transport/socket.js';

/** A socket that can ping with a payload: Buster pings with `[1]`. */
export interface PayloadPingSocket extends Socket {
  ping(data?: Uint8Array): void;
}

export interface BusterWsTransportOptions {
  readonly port?: number;
  readonly host?: string;
  readonly server?: HttpServer;
  readonly path?: string;
  readonly maxPayload: number;
}

export interface BusterWsTransport extends ServerTransport {
  port(): number;
}

/**
 * The core's `ws` transport in small, with one difference: its sockets ping with a payload, since
 * Buster's pings carry `[1]` and the core `Socket.ping()` takes none. Refusals from `verifyUpgrade`
 * are written before any upgrade, as the core transport writes them.
 */
export function busterWsTransport(options: BusterWsTransportOptions): BusterWsTransport {
  let wss: WebSocketServer | undefined;
  return {
    async start(accept, verifyUpgrade) {
      wss = new WebSocketServer({
        ...(options.server ? { server: options.server } : { port: options.port ?? 0, host: options.host }),
        path: options.path,
        maxPayload: options.maxPayload,
        perMessageDeflate: false,
        ...(verifyUpgrade ? { verifyClient: verifier(verifyUpgrade) } : {}),
      });
      wss.on('connection', (ws, request) => accept(wrap(ws), upgradeRequest(request)));
      if (!options.server) {
        await new Promise<void>((resolve, reject) => {
          wss?.once('listening', resolve);
          wss?.once('error', reject);
        });
      }
    },
    async stop() {
      const server = wss;
      if (!server) return;
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

function verifier(verifyUpgrade: VerifyUpgrade) {
  return (
    info: { req: IncomingMessage },
    done: (ok: boolean, status?: number, body?: string, headers?: Record<string, string>) => void,
  ) => {
    let verdict: ReturnType<VerifyUpgrade>;
    try {
      verdict = verifyUpgrade(upgradeRequest(info.req));
    } catch {
      // A check that throws must not let the request through, nor say why.
      verdict = { status: 500, body: 'upgrade check failed' };
    }
    Promise.resolve(verdict).then(
      (refusal) =>
        refusal ? done(false, refusal.status, refusal.body ?? '', { ...refusal.headers }) : done(true),
      () => done(false, 500, 'upgrade check failed'),
    );
  };
}

function wrap(ws: WebSocket): PayloadPingSocket {
  return {
    send(frame) {
      if (ws.readyState === ws.OPEN) ws.send(frame);
    },
    close(code, reason) {
      ws.close(code, closeReason(reason));
    },
    terminate() {
      ws.terminate();
    },
    ping(data) {
      if (ws.readyState === ws.OPEN) ws.ping(data);
    },
    get bufferedAmount() {
      return ws.bufferedAmount;
    },
    listen(listener: SocketListener) {
      ws.on('message', (data: RawData, isBinary: boolean) => {
        listener.message(isBinary ? toBytes(data) : data.toString());
      });
      ws.on('pong', () => listener.pong?.());
      ws.once('close', (code, reason) => listener.close(code, reason.toString()));
      // ws closes the socket itself after a protocol error; the close listener reports it.
      ws.on('error', () => {});
    },
  };
}

function toBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  return data instanceof ArrayBuffer ? new Uint8Array(data) : data;
}
