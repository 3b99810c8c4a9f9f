/**
 * Every WebSocket close code a Switchboard server or its `ws` transport can produce, and the two a
 * client sees without any being sent (1005, 1006). 1xxx are RFC 6455 codes with their standard
 * meaning; 4xxx are ours. docs/wire-json.md lists the same table; a test keeps the two in step.
 * `retry` says whether a client should reconnect on its own after this close.
 */
export const CLOSE_CODES = {
  /** The client or server closed on purpose. */
  NORMAL: { code: 1000, retry: false },
  /** The peer went away (page closed, process ended). */
  GOING_AWAY: { code: 1001, retry: true },
  /** A frame broke the protocol: a message before the handshake, or a second hello. */
  PROTOCOL_ERROR: { code: 1002, retry: false },
  /** A binary frame reached a text wire format, or the reverse. */
  UNSUPPORTED_DATA: { code: 1003, retry: false },
  /** Never sent: the close frame carried no code (the peer closed without saying why). */
  NO_STATUS: { code: 1005, retry: true },
  /** Never sent: the connection ended without a close frame (network loss, a process killed, a dropped socket). */
  ABNORMAL_CLOSURE: { code: 1006, retry: true },
  /** A text frame was not valid UTF-8 (`ws` closes with it). */
  INVALID_PAYLOAD: { code: 1007, retry: false },
  /** `ws` refused the framing: too many fragments or buffered chunks in one message (goval also sends it for a failed handshake). */
  POLICY_VIOLATION: { code: 1008, retry: false },
  /** A frame exceeded `maxMessageBytes`, or `maxHandshakeBytes` before the welcome. */
  MESSAGE_TOO_BIG: { code: 1009, retry: true },
  /** The server hit an unexpected fault on this connection. */
  INTERNAL_ERROR: { code: 1011, retry: true },
  /** The server is shutting down; reconnect, to the `goodbye` message's URL if it named one. */
  SERVICE_RESTART: { code: 1012, retry: true },
  /** Accepted past a connection limit (upgrades checked at the same time); reconnect after a backoff. */
  TRY_AGAIN_LATER: { code: 1013, retry: true },
  /** Authentication failed (bad token, unknown key, wrong challenge response). */
  HANDSHAKE_FAILED: { code: 4100, retry: false },
  /** No hello, or no challenge response, arrived within `handshakeTimeoutMs`. */
  HANDSHAKE_TIMEOUT: { code: 4101, retry: true },
  /** The client's protocol name, protocol version or wire version is not one the server speaks. */
  INCOMPATIBLE_PROTOCOL: { code: 4102, retry: false },
  /** The credentials expired while connected; reconnect with fresh credentials. */
  SESSION_EXPIRED: { code: 4103, retry: true },
  /** Nothing arrived from the peer for `heartbeatTimeoutMs` (pings included). */
  HEARTBEAT_TIMEOUT: { code: 4200, retry: true },
  /** The peer stopped reading: its send buffer passed `maxBufferedBytes`. */
  SLOW_CONSUMER: { code: 4201, retry: true },
  /** The peer kept sending far past its rate limit after being told `RATE_LIMITED`. */
  RATE_LIMIT_ABUSE: { code: 4202, retry: false },
  /** The principal has `maxConnectionsPerPrincipal` open, or opened more than `connectRatePerPrincipal` per second. */
  TOO_MANY_CONNECTIONS: { code: 4203, retry: true },
} as const satisfies Record<string, { code: number; retry: boolean }>;

export type CloseName = keyof typeof CLOSE_CODES;

/** Whether a client should reconnect after this close code; codes not in the table are retried. */
export function shouldRetry(code: number): boolean {
  const name = closeName(code);
  return name === undefined ? true : CLOSE_CODES[name].retry;
}

/** Looks up a close code's name, e.g. 4100 → `HANDSHAKE_FAILED`. */
export function closeName(code: number): CloseName | undefined {
  for (const [name, entry] of Object.entries(CLOSE_CODES)) if (entry.code === code) return name as CloseName;
  return undefined;
}
