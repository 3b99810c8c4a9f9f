import { CLOSE_CODES } from '../protocol/close-codes.js';
import type { LogLevel } from './logger.js';

/**
 * Every connection event the server logs, with its level and what it means. Each line carries
 * `event` (the name here) and, where known, `connectionId`, `remoteAddress`, `principal` and
 * `traceId`, plus the fields listed; a connection's close line (whichever event it is) also carries
 * `suppressed` when some of its lines were dropped by the log budget. docs/observability.md lists the same table; a test keeps the
 * two in step.
 */
export const LOG_EVENTS = {
  /** An upgrade refused before it happened: an admission limit (429, 503) or `verifyUpgrade`. */
  'upgrade.refused': { level: 'warn', message: 'upgrade refused', fields: ['status', 'reason', 'by'] },
  /** Authentication failed or credentials were missing (4100). */
  'handshake.refused': { level: 'warn', message: 'handshake refused', fields: ['code', 'reason'] },
  /** No hello, challenge response or contract within `handshakeTimeoutMs` (4101). */
  'handshake.timeout': { level: 'info', message: 'handshake timed out', fields: ['code', 'reason'] },
  /** The client's protocol, wire or contract is not one the server speaks (4102). */
  'handshake.incompatible': { level: 'warn', message: 'incompatible client', fields: ['code', 'reason'] },
  /** Over a connection limit once accepted (1013) or for the principal (4203). */
  'admission.refused': {
    level: 'warn',
    message: 'connection refused by a limit',
    fields: ['code', 'reason'],
  },
  /** A frame over `maxHandshakeBytes` or `maxMessageBytes` (1009). */
  'frame.too_big': { level: 'warn', message: 'frame too big', fields: ['code', 'reason'] },
  /** A frame that broke the protocol and closed the connection (1002, 1003, and `ws`'s 1007, 1008). */
  'protocol.error': { level: 'warn', message: 'protocol error', fields: ['code', 'reason'] },
  /** The peer stopped reading (4201). */
  'limit.slow_consumer': { level: 'warn', message: 'slow consumer closed', fields: ['code', 'reason'] },
  /** The peer kept sending past its rate limit (4202). */
  'limit.rate_abuse': { level: 'warn', message: 'rate limit abused', fields: ['code', 'reason'] },
  /** An undecodable frame after the welcome, nesting past `maxDepth` included: answered BAD_MESSAGE. */
  'message.bad': { level: 'info', message: 'bad message', fields: ['code', 'reason', 'callId'] },
  /** A request past the message rate: answered RATE_LIMITED. */
  'limit.rate_limited': { level: 'info', message: 'rate limited', fields: ['code', 'reason', 'callId'] },
  /** A call past `maxInFlight`: answered TOO_MANY_IN_FLIGHT. */
  'limit.in_flight': {
    level: 'info',
    message: 'too many calls in flight',
    fields: ['code', 'reason', 'callId'],
  },
  /** Any other close: `info` when the server closed, `debug` when the peer did. */
  'connection.closed': {
    level: 'info',
    message: 'connection closed',
    fields: ['code', 'reason', 'byServer'],
  },
  /** Lines dropped by the log budget for one key (a connection, an address, or `global`). */
  'log.suppressed': { level: 'warn', message: 'log lines suppressed', fields: ['key', 'dropped'] },
} as const satisfies Record<string, { level: LogLevel; message: string; fields: readonly string[] }>;

export type LogEventName = keyof typeof LOG_EVENTS;

/** The event a server-side close with this code is logged as. */
const EVENT_OF_CLOSE: ReadonlyMap<number, LogEventName> = new Map([
  [CLOSE_CODES.HANDSHAKE_FAILED.code, 'handshake.refused'],
  [CLOSE_CODES.HANDSHAKE_TIMEOUT.code, 'handshake.timeout'],
  [CLOSE_CODES.INCOMPATIBLE_PROTOCOL.code, 'handshake.incompatible'],
  [CLOSE_CODES.TRY_AGAIN_LATER.code, 'admission.refused'],
  [CLOSE_CODES.TOO_MANY_CONNECTIONS.code, 'admission.refused'],
  [CLOSE_CODES.MESSAGE_TOO_BIG.code, 'frame.too_big'],
  [CLOSE_CODES.PROTOCOL_ERROR.code, 'protocol.error'],
  [CLOSE_CODES.UNSUPPORTED_DATA.code, 'protocol.error'],
  [CLOSE_CODES.INVALID_PAYLOAD.code, 'protocol.error'],
  [CLOSE_CODES.POLICY_VIOLATION.code, 'protocol.error'],
  [CLOSE_CODES.SLOW_CONSUMER.code, 'limit.slow_consumer'],
  [CLOSE_CODES.RATE_LIMIT_ABUSE.code, 'limit.rate_abuse'],
]);

/**
 * Closes that `ws` makes itself when a frame breaks its limits (too big, invalid UTF-8, too many
 * fragments): the server sees them as the socket's close, and logs them as the refusals they are.
 */
const EVENT_OF_TRANSPORT_CLOSE: ReadonlyMap<number, LogEventName> = new Map([
  [CLOSE_CODES.MESSAGE_TOO_BIG.code, 'frame.too_big'],
  [CLOSE_CODES.INVALID_PAYLOAD.code, 'protocol.error'],
  [CLOSE_CODES.POLICY_VIOLATION.code, 'protocol.error'],
]);

/** The event a close is logged as: a refusal or limit by its code when the server closed, else `connection.closed`. */
export function eventOfClose(code: number, byServer: boolean): LogEventName {
  return (byServer ? EVENT_OF_CLOSE.get(code) : EVENT_OF_TRANSPORT_CLOSE.get(code)) ?? 'connection.closed';
}

/** The event an error answer with this code is logged as, or undefined for errors not logged (a handler's). */
export function eventOfError(code: string): LogEventName | undefined {
  if (code === 'BAD_MESSAGE') return 'message.bad';
  if (code === 'RATE_LIMITED') return 'limit.rate_limited';
  if (code === 'TOO_MANY_IN_FLIGHT') return 'limit.in_flight';
  return undefined;
}

/**
 * How many event lines may be written per window, per key: past a budget the lines are counted, not
 * written, and one `log.suppressed` line says how many (when the window ends, or the connection closes).
 */
export interface LogBudget {
  /** Length of a budget window. */
  readonly windowMs: number;
  /** Lines per connection per window. */
  readonly perConnection: number;
  /** Lines per remote address per window, all its connections together. */
  readonly perAddress: number;
  /** Lines per window for the whole server. */
  readonly global: number;
  /** Addresses tracked at once; past it, lines of untracked addresses count against `global` only. */
  readonly maxAddresses: number;
}

export const DEFAULT_LOG_BUDGET: LogBudget = {
  windowMs: 60_000,
  perConnection: 20,
  perAddress: 100,
  global: 1_000,
  maxAddresses: 10_000,
};
