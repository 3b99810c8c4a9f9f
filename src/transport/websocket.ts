import type { Frame } from '../wire/format.js';
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

/** A Connector on a WHATWG WebSocket class. The client finds one by itself; pass one to override. */
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
        const drop = (ws as { terminate?: () => void }).terminate;
        if (drop) drop.call(ws);
        else if (ws.readyState <= 1) ws.close(1000, 'terminated');
      },
      get bufferedAmount() {
        return ws.bufferedAmount;
      },
      listen(listener: SocketListener) {
        ws.onopen = () => listener.open?.();
        ws.onmessage = (event) => {
          const data = event.data;
          listener.message(typeof data === 'string' ? data : new Uint8Array(data as ArrayBuffer));
        };
        ws.onclose = (event) => {
          if (closed) return;
          closed = true;
          listener.close(event.code, event.reason);
        };
        // Errors are always followed by a close event, which is where the client reacts.
        ws.onerror = () => {};
      },
    };
  };
}

/** The global WebSocket where there is one (browsers, Node 22+), else the `ws` package on Node. */
export async function defaultConnector(): Promise<Connector> {
  const global = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (global) return webSocketConnector(global);
  const ws = await import('ws');
  return webSocketConnector(ws.WebSocket as unknown as WebSocketConstructor);
}
