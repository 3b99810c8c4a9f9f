/**
 * Buster's timings (seed 003, `ws.rs`), each overridable for tests. docs/wire-buster.md lists
 * the same table; a test keeps the two in step.
 */
export interface BusterSettings {
  /** Interval between server WebSocket pings (payload `[1]`). */
  readonly pingIntervalMs: number;
  /** A ping not answered by a pong within this closes the connection. */
  readonly pongTimeoutMs: number;
  /** No text frame from the client for this long closes the connection. */
  readonly idleTimeoutMs: number;
  /** `COUNT` of each XREADGROUP (per stream). */
  readonly readCount: number;
  /** `BLOCK` of the first XREADGROUP, and after any read that returned entries. */
  readonly initialBlockMs: number;
  /** How `BLOCK` grows after each empty read. */
  readonly blockGrowth: number;
  /** The longest `BLOCK`. */
  readonly maxBlockMs: number;
  /** Largest frame accepted (ours); a larger one closes the connection with 1009. */
  readonly maxMessageBytes: number;
  /** How long a route's handler may run when its command declares no timeout (ours). */
  readonly defaultCallTimeoutMs: number;
}

export const BUSTER_SETTINGS: BusterSettings = {
  pingIntervalMs: 15_000,
  pongTimeoutMs: 5_000,
  idleTimeoutMs: 900_000,
  readCount: 250,
  initialBlockMs: 5,
  blockGrowth: 1.5,
  maxBlockMs: 30_000,
  maxMessageBytes: 1024 * 1024,
  defaultCallTimeoutMs: 30_000,
};

/** Close codes and reasons the Buster server uses (ours: Buster drops the socket without saying why). */
export const BUSTER_CLOSE = {
  /** A ping went unanswered for `pongTimeoutMs`. */
  PONG_TIMEOUT: { code: 1000, reason: 'pong timeout' },
  /** No text frame for `idleTimeoutMs`. */
  IDLE: { code: 1000, reason: 'idle timeout' },
  /** The server is shutting down. */
  SHUTDOWN: { code: 1001, reason: 'server shutting down' },
} as const;

/** The payload of every server ping, as Buster sends it. */
export const PING_PAYLOAD: Uint8Array = Uint8Array.of(1);
