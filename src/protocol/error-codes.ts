/**
 * Error codes every Switchboard server and client knows, whatever the protocol.
 * Request errors are the caller's fault: they carry full detail and are not logged as server faults.
 * `INTERNAL` is the only code for our faults: the client sees a generic message and a trace id.
 * docs/errors.md lists the same table; test/protocol/error-codes.test.ts keeps the two in step.
 */
export const BUILTIN_ERRORS = {
  /** The frame could not be decoded (not JSON, wrong shape, unknown message type). */
  BAD_MESSAGE: { kind: 'request', message: 'The message could not be decoded' },
  /** The command is not part of the protocol. */
  UNKNOWN_COMMAND: { kind: 'request', message: 'Unknown command' },
  /** The input failed the command's schema; `data.issues` lists each failure with its path. */
  INVALID_INPUT: { kind: 'request', message: 'Invalid input' },
  /** The connection's principal lacks a permission the command requires; `data.required` names it. */
  PERMISSION_DENIED: { kind: 'request', message: 'Permission denied' },
  /** A wire format that authenticates every message (fetch_ml) found no valid credential on this one. */
  UNAUTHENTICATED: { kind: 'request', message: 'Not authenticated' },
  /** The call did not finish within its timeout. */
  TIMEOUT: { kind: 'request', message: 'The call timed out' },
  /** The caller cancelled the call. */
  CANCELLED: { kind: 'request', message: 'The call was cancelled' },
  /** The connection already has `maxInFlight` calls running. */
  TOO_MANY_IN_FLIGHT: { kind: 'request', message: 'Too many calls in flight' },
  /** The connection exceeded its message rate; `data.retryAfterMs` says when a token is free again. */
  RATE_LIMITED: { kind: 'request', message: 'Rate limit exceeded' },
  /** A call id is already in use by a running call on this connection. */
  DUPLICATE_ID: { kind: 'request', message: 'Call id already in use' },
  /** The server is shutting down and takes no new calls, or its broker is unreachable. */
  UNAVAILABLE: { kind: 'request', message: 'Server is shutting down' },
  /** The topic is not part of the protocol. */
  UNKNOWN_TOPIC: { kind: 'request', message: 'Unknown topic' },
  /** The connection already follows `maxSubscriptions` topic keys; `data.limit`. */
  TOO_MANY_SUBSCRIPTIONS: { kind: 'request', message: 'Too many subscriptions' },
  /** No service of that name is declared and implemented. */
  UNKNOWN_SERVICE: { kind: 'request', message: 'Unknown service' },
  /** No such channel: not open on this connection, or (attach) no instance of that name. */
  CHANNEL_NOT_FOUND: { kind: 'request', message: 'Channel not found' },
  /** `create` on a name whose instance already exists. */
  CHANNEL_EXISTS: { kind: 'request', message: 'Channel already exists' },
  /** The channel closed while the call ran on it. */
  CHANNEL_CLOSED: { kind: 'request', message: 'Channel closed' },
  /** The connection already has `maxChannels` channels open; `data.limit`. */
  TOO_MANY_CHANNELS: { kind: 'request', message: 'Too many channels' },
  /** Client side only: the connection dropped before the reply came. */
  DISCONNECTED: { kind: 'request', message: 'The connection was lost' },
  /** Client side only: the call could not be sent (closed client, or the offline queue is full). */
  NOT_CONNECTED: { kind: 'request', message: 'Not connected' },
  /** Client side only: the encoded call is larger than the server's `maxMessageBytes`; it was not sent. */
  TOO_LARGE: { kind: 'request', message: 'Message too large' },
  /** A fault on the server; details stay in the server log under `traceId`. */
  INTERNAL: { kind: 'internal', message: 'Internal error' },
} as const satisfies Record<string, { kind: 'request' | 'internal'; message: string }>;

/** A code from {@link BUILTIN_ERRORS}. */
export type BuiltinErrorCode = keyof typeof BUILTIN_ERRORS;

export function isBuiltinErrorCode(code: string): code is BuiltinErrorCode {
  return Object.hasOwn(BUILTIN_ERRORS, code);
}
