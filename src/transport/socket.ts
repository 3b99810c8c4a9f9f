import type { Frame } from '../wire/format.js';
import type { ConnectCause } from './connect-cause.js';

/** What a socket tells its owner. `close` fires exactly once, after the last `message`. */
export interface SocketListener {
  open?(): void;
  message(frame: Frame): void;
  /** The answer to a transport-level ping (see `Socket.ping`). */
  pong?(): void;
  /** `cause`, when the socket never opened and its connector knows why (see connect-cause.ts). */
  close(code: number, reason: string, cause?: ConnectCause): void;
}

/**
 * One WebSocket connection as the server and client see it, whatever carries it
 * (`ws` on Node, the browser's WebSocket, or the in-memory pair used in tests).
 */
export interface Socket {
  send(frame: Frame): void;
  /**
   * Sends a text frame already encoded as UTF-8. A broadcast encodes its frame once and hands the
   * same bytes to every socket instead of each socket converting the string again. Optional.
   */
  sendText?(utf8: Uint8Array): void;
  /** Starts the closing handshake. `reason` is cut to the 123 bytes a close frame can hold. */
  close(code: number, reason?: string): void;
  /** Sends a WebSocket ping frame (with an optional payload, e.g. Buster's `[1]`), for wires that have no ping message of their own. Optional. */
  ping?(data?: Uint8Array): void;
  /**
   * Drops the connection without waiting for the peer's answer to a close frame already sent, and
   * reads nothing more from it: for a peer that has stopped reading, or is not worth hearing out.
   */
  terminate(): void;
  /**
   * Sets the largest frame accepted from now on; a larger one closes with 1009 as soon as its header
   * arrives, before it is buffered. Optional: the server also checks whole frames itself.
   */
  limitFrames?(maxBytes: number): void;
  /** Bytes accepted by `send` but not yet handed to the network: how far the peer lags behind. */
  readonly bufferedAmount: number;
  listen(listener: SocketListener): void;
}

/** The HTTP upgrade request a connection arrived with; authenticators read tokens from it. */
export interface UpgradeRequest {
  readonly url: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly remoteAddress?: string;
}

/**
 * An HTTP answer that refuses an upgrade before it happens (a bad token, a route that is off), as
 * servers of some seeds do: e.g. `{ status: 401, body: '{"error":"invalid sync token"}' }`.
 */
export interface UpgradeRefusal {
  readonly status: number;
  readonly body?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/** Decides, from the HTTP request alone, whether an upgrade goes ahead: undefined lets it through. */
export type VerifyUpgrade = (
  request: UpgradeRequest,
) => UpgradeRefusal | undefined | Promise<UpgradeRefusal | undefined>;

/** Accepts connections for a server: a `ws` server on a port, attached to an http server, or in memory. */
export interface ServerTransport {
  /** `verifyUpgrade`, when given, runs before each upgrade; a refusal is answered without one. */
  start(
    accept: (socket: Socket, request: UpgradeRequest) => void,
    verifyUpgrade?: VerifyUpgrade,
  ): Promise<void>;
  /** Stops accepting; open sockets stay open for the server to close. */
  stop(): Promise<void>;
}

/** Opens a client socket to a URL. */
export type Connector = (url: string) => Socket;

/** Cuts a close reason to the 123 bytes a close frame allows, without splitting a character. */
export function closeReason(reason: string | undefined): string {
  if (!reason) return '';
  const bytes = new TextEncoder().encode(reason);
  if (bytes.length <= 123) return reason;
  return new TextDecoder().decode(bytes.slice(0, 120)).replace(/\uFFFD$/, '');
}
