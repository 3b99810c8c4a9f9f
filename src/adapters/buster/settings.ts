import { CLOSE_CODES } from '../../protocol/close-codes.js';
import { DEFAULT_MAX_DEPTH } from '../../wire/bounded-json.js';

/**
 * Buster's timings (seed 003, `ws.rs`) and our limits, each overridable. docs/wire-buster.md lists
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
  /** Requests running at once per connection (ours); one more is refused with TOO_MANY_IN_FLIGHT. */
  readonly maxInFlight: number;
  /** Sustained frames per second per connection (ours); past it, requests are refused with RATE_LIMITED. */
  readonly ratePerSecond: number;
  /** Frames a connection may send in a burst above the rate (ours); owing more than this closes with 4202. */
  readonly rateBurst: number;
  /** Bytes queued to a connection that does not read (ours); past it, close 4201. */
  readonly maxBufferedBytes: number;
  /** Deepest nesting of a request frame, and of a stream entry (ours); deeper is refused before parsing. */
  readonly maxDepth: number;
  /** gzip of a reply this large or smaller runs at once, its zlib context freed before it returns (ours). */
  readonly syncGzipMaxBytes: number;
  /** Larger replies of one connection gzipped on the thread pool at once (ours); the others wait in order. */
  readonly maxCompressions: number;
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
  maxInFlight: 64,
  ratePerSecond: 1000,
  rateBurst: 2000,
  maxBufferedBytes: 8 * 1024 * 1024,
  maxDepth: DEFAULT_MAX_DEPTH,
  syncGzipMaxBytes: 64 * 1024,
  maxCompressions: 2,
};

/** Close codes and reasons the Buster server uses (ours: Buster drops the socket without saying why). */
export const BUSTER_CLOSE = {
  /** A ping went unanswered for `pongTimeoutMs`. */
  PONG_TIMEOUT: { code: 1000, reason: 'pong timeout' },
  /** No text frame for `idleTimeoutMs`. */
  IDLE: { code: 1000, reason: 'idle timeout' },
  /** The server is shutting down. */
  SHUTDOWN: { code: 1001, reason: 'server shutting down' },
  /** The connection's personal stream could not be followed (the bus is unreachable). */
  STREAM_UNAVAILABLE: { code: CLOSE_CODES.INTERNAL_ERROR.code, reason: 'stream unavailable' },
  /** Something threw while this connection's frame or delivery was handled; the log has the cause under the trace id the reason ends with. */
  INTERNAL_ERROR: { code: CLOSE_CODES.INTERNAL_ERROR.code, reason: 'internal error' },
  /** The peer stopped reading: more than `maxBufferedBytes` waited to be sent; the socket is dropped at once. */
  SLOW_CONSUMER: { code: CLOSE_CODES.SLOW_CONSUMER.code, reason: 'send buffer full' },
  /** The peer owed more than `rateBurst` frames after being told RATE_LIMITED; the socket is dropped at once. */
  RATE_LIMIT_ABUSE: { code: CLOSE_CODES.RATE_LIMIT_ABUSE.code, reason: 'kept sending past the rate limit' },
} as const;

/** The payload of every server ping, as Buster sends it. */
export const PING_PAYLOAD: Uint8Array = Uint8Array.of(1);
