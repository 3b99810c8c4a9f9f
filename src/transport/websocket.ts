import type { Frame } from '../wire/format.js';
import {
  boundedBody,
  CAUSE_BODY_WAIT_MS,
  type ConnectCause,
  causeOfError,
  MAX_CAUSE_BODY_BYTES,
  retryAfterMs,
} from './connect-cause.js';
import { type Connector, closeReason, type Socket, type SocketListener } from './socket.js';

/** The part of the WHATWG WebSocket API the client needs: browsers, Node 22+, Deno, Bun and `ws` have it. */
export interface WebSocketLike {
  binaryType: string;
  readonly bufferedAmount: number;
  readonly readyState: number;
  send(data: string | ArrayBufferView | ArrayBuffer): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: any) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: any) => void) | null;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

/** The refused upgrade's response as `ws` hands it to 'unexpected-response' (Node's IncomingMessage). */
interface RefusalResponse {
  readonly statusCode?: number;
  readonly statusMessage?: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  on(event: 'data', listener: (chunk: Uint8Array) => void): unknown;
  on(event: 'end' | 'close' | 'error', listener: () => void): unknown;
  destroy(): void;
}

/** `ws`'s WebSocket is an EventEmitter too; browsers' is not. */
interface NodeWebSocket {
  on(event: 'unexpected-response', listener: (request: unknown, response: RefusalResponse) => void): unknown;
  terminate(): void;
}

function isNodeWebSocket(ws: WebSocketLike): ws is WebSocketLike & NodeWebSocket {
  const candidate = ws as Partial<NodeWebSocket>;
  return typeof candidate.on === 'function' && typeof candidate.terminate === 'function';
}

/**
 * A Connector on a WHATWG WebSocket class. The client finds one by itself; pass one to override.
 * A socket that closes before it opened reports why in `close`'s third argument: with `ws`, Node's
 * error code or the HTTP status and body of a refused upgrade; in a browser only the close code.
 */
export function webSocketConnector(WebSocketClass: WebSocketConstructor): Connector {
  return (url: string): Socket => {
    const ws = new WebSocketClass(url);
    ws.binaryType = 'arraybuffer';
    let closed = false;
    return {
      send(frame: Frame) {
        if (ws.readyState === 1) ws.send(frame);
      },
      close(code, reason) {
        ws.close(code, closeReason(reason));
      },
      terminate() {
        // `ws` can drop a socket at once; the browser API can only start a closing handshake.
        if (isNodeWebSocket(ws)) ws.terminate();
        else if (ws.readyState <= 1) ws.close(1000, 'terminated');
      },
      get bufferedAmount() {
        return ws.bufferedAmount;
      },
      listen(listener: SocketListener) {
        let opened = false;
        /** Why the socket failed before it opened, when the platform says. */
        let cause: ConnectCause | undefined;
        ws.onopen = () => {
          opened = true;
          listener.open?.();
        };
        ws.onmessage = (event) => {
          const data = event.data;
          listener.message(typeof data === 'string' ? data : new Uint8Array(data as ArrayBuffer));
        };
        ws.onclose = (event) => {
          if (closed) return;
          closed = true;
          if (opened) return listener.close(event.code, event.reason);
          listener.close(event.code, event.reason, cause ?? closedBeforeOpen(event.code, event.reason));
        };
        // An error is always followed by a close, where the client reacts. `ws` passes Node's error
        // (ECONNREFUSED, ENOTFOUND...); a browser's error event carries nothing.
        ws.onerror = (event: { error?: unknown } | undefined) => {
          if (!opened && !cause) cause = causeOfError(event?.error);
        };
        if (isNodeWebSocket(ws)) {
          // Listening here stops `ws` from turning the response into a bare "Unexpected server
          // response" error: the status, Retry-After and the start of the body become the cause.
          ws.on('unexpected-response', (_request, response) => {
            void readRefusal(response).then((refusal) => {
              cause ??= refusal;
              ws.terminate();
            });
          });
        }
      },
    };
  };
}

/** All a browser tells of a socket that never opened: its close code (1006) and reason. */
function closedBeforeOpen(code: number, reason: string): ConnectCause {
  return {
    kind: 'network',
    message: `connection closed with ${code}${reason ? ` ${reason}` : ''} before it opened`,
    closeCode: code,
    ...(reason ? { closeReason: reason } : {}),
  };
}

/** Reads a refused upgrade's status, Retry-After and at most MAX_CAUSE_BODY_BYTES of body, for at most CAUSE_BODY_WAIT_MS. */
function readRefusal(response: RefusalResponse): Promise<ConnectCause> {
  return new Promise((resolve) => {
    const chunks: Uint8Array[] = [];
    let size = 0;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      response.destroy();
      const status = response.statusCode ?? 0;
      const body = boundedBody(Buffer.concat(chunks, Math.min(size, MAX_CAUSE_BODY_BYTES + 1)));
      const header = response.headers['retry-after'];
      const retryAfter = retryAfterMs(Array.isArray(header) ? header[0] : header);
      resolve({
        kind: 'http',
        message: `upgrade refused with HTTP ${status}${response.statusMessage ? ` ${response.statusMessage}` : ''}`,
        status,
        ...(body ? { body } : {}),
        ...(retryAfter === undefined ? {} : { retryAfterMs: retryAfter }),
      });
    };
    const timer = setTimeout(finish, CAUSE_BODY_WAIT_MS);
    response.on('data', (chunk) => {
      chunks.push(chunk);
      size += chunk.length;
      if (size > MAX_CAUSE_BODY_BYTES) finish();
    });
    response.on('end', finish);
    response.on('close', finish);
    response.on('error', finish);
  });
}

/**
 * On Node, the `ws` package when it is installed (it reports why a connect failed: Node's error
 * code, a refused upgrade's status); elsewhere, or without it, the global WebSocket.
 */
export async function defaultConnector(): Promise<Connector> {
  const global = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  const onNode = typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions
    ?.node;
  if (onNode === 'string' || !global) {
    try {
      const ws = await import('ws');
      return webSocketConnector(ws.WebSocket as unknown as WebSocketConstructor);
    } catch (error) {
      if (!global) throw error;
    }
  }
  return webSocketConnector(global);
}
