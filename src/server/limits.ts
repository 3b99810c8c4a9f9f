import { DEFAULT_MAX_DEPTH } from '../wire/bounded-json.js';

/**
 * Every limit a server enforces, with its default. docs/limits.md lists the same table;
 * test/server/limits.test.ts keeps the two in step.
 */
export interface Limits {
  /** Largest frame accepted; a larger one closes the connection with 1009. */
  readonly maxMessageBytes: number;
  /** Calls (and streams) running at once per connection; one more gets TOO_MANY_IN_FLIGHT. */
  readonly maxInFlight: number;
  /** Sustained messages per second per connection; past it, calls get RATE_LIMITED. */
  readonly ratePerSecond: number;
  /** Messages a connection may send in a burst above the sustained rate. */
  readonly rateBurst: number;
  /** Bytes queued to a connection that is not reading; past it, close 4201. */
  readonly maxBufferedBytes: number;
  /** Time from socket open to a completed handshake; past it, close 4101. */
  readonly handshakeTimeoutMs: number;
  /** Interval between server pings. */
  readonly heartbeatMs: number;
  /** Silence from a peer (no message of any kind) after which it is dead; close 4200. */
  readonly heartbeatTimeoutMs: number;
  /** Time without a message from the peer (pongs to transport pings do not count) after which it is closed with 1000; 0 turns it off. */
  readonly idleTimeoutMs: number;
  /**
   * Bytes waiting on a connection's socket above which topics with a `drop-oldest` or `latest-by-key`
   * policy hold publications back for it (bounded by the policy) instead of writing them.
   */
  readonly backpressureBytes: number;
  /** Channels one connection may have open at once; one more gets TOO_MANY_CHANNELS. */
  readonly maxChannels: number;
  /** Topic keys one connection may follow at once; one more gets TOO_MANY_SUBSCRIPTIONS. */
  readonly maxSubscriptions: number;
  /**
   * Deepest nesting of objects and arrays the server takes from a peer or hands to one: frames of the
   * default JSON wire (deeper: before the welcome close 1002, after it `BAD_MESSAGE`), a hello's
   * contract schemas (deeper: close 4102) and publications (deeper: refused with `INVALID_INPUT`).
   */
  readonly maxDepth: number;
  /** Server-side timeout of a command that declares none. */
  readonly defaultCallTimeoutMs: number;
  /** How long `close()` lets running calls finish before aborting them. */
  readonly shutdownGraceMs: number;
  /** Largest frame accepted before the welcome (hello, challenge response); a larger one closes with 1009. */
  readonly maxHandshakeBytes: number;
  /** Connections upgraded but not yet welcomed, server-wide; one more upgrade is refused with HTTP 503. */
  readonly maxPendingHandshakes: number;
  /**
   * Connections open at once from one remote address (handshakes included); one more upgrade is
   * refused with HTTP 429. Behind a proxy every peer has the proxy's address: raise it, or `Infinity`.
   */
  readonly maxConnectionsPerAddress: number;
  /** New connections per second from one remote address (as a bucket of this many); past it, HTTP 429 with Retry-After. */
  readonly connectRatePerAddress: number;
  /** After a connection is closed for abuse (4202), new ones from its address get HTTP 429 for this long. */
  readonly abuseCooldownMs: number;
  /** Connections open at once for one principal; one more is closed with 4203 once authenticated. */
  readonly maxConnectionsPerPrincipal: number;
  /** New connections per second for one principal (as a bucket of this many); past it, close 4203 once authenticated. */
  readonly connectRatePerPrincipal: number;
}

export const DEFAULT_LIMITS: Limits = {
  maxMessageBytes: 1024 * 1024,
  maxInFlight: 64,
  ratePerSecond: 1000,
  rateBurst: 2000,
  maxBufferedBytes: 8 * 1024 * 1024,
  handshakeTimeoutMs: 10_000,
  heartbeatMs: 15_000,
  heartbeatTimeoutMs: 45_000,
  idleTimeoutMs: 0,
  backpressureBytes: 256 * 1024,
  maxChannels: 64,
  maxSubscriptions: 1000,
  maxDepth: DEFAULT_MAX_DEPTH,
  defaultCallTimeoutMs: 30_000,
  shutdownGraceMs: 10_000,
  maxHandshakeBytes: 64 * 1024,
  maxPendingHandshakes: 1024,
  maxConnectionsPerAddress: 256,
  connectRatePerAddress: 32,
  abuseCooldownMs: 10_000,
  maxConnectionsPerPrincipal: 64,
  connectRatePerPrincipal: 16,
};
