import { shouldRetry } from '../protocol/close-codes.js';
import { ConnectError } from '../protocol/errors.js';
import { type ConnectCause, httpStatusRetries } from '../transport/connect-cause.js';

/** What `onConnectError` listeners hear after each failed attempt. */
export interface ConnectAttempt {
  /** 1 for the first attempt after the last open connection (or the first ever), 2 for the next... */
  readonly attempt: number;
  /** Whether the client tries again (the cause allows it, reconnect is on, maxAttempts not reached). */
  readonly retrying: boolean;
  /** The wait before the next attempt, in ms, when retrying. */
  readonly delayMs?: number;
}

export type ConnectErrorListener = (error: ConnectError, attempt: ConnectAttempt) => void;

/** Whether asking again could go differently: see the table in docs/client.md. */
export function causeRetries(cause: ConnectCause): boolean {
  switch (cause.kind) {
    case 'url':
      return false;
    case 'http':
      return httpStatusRetries(cause.status ?? 0);
    default:
      return cause.closeCode === undefined || shouldRetry(cause.closeCode);
  }
}

/**
 * The cause of a close the connector did not explain: the server's (or the client's own) close code.
 * The message is the server's reason as it wrote it ("invalid token"), or the code when it gave none.
 */
export function causeOfClose(code: number, reason: string): ConnectCause {
  return {
    kind: 'closed',
    message: reason || `connection closed with ${code}`,
    closeCode: code,
    ...(reason ? { closeReason: reason } : {}),
  };
}

/** Schemes the default connector opens; a custom connector may take any URL that parses. */
const WEBSOCKET_SCHEMES = new Set(['ws:', 'wss:', 'http:', 'https:']);

/** Why `url` cannot be connected to, or undefined when it can. */
export function invalidUrl(url: unknown, customConnector: boolean): ConnectCause | undefined {
  const shown = JSON.stringify(String(url).slice(0, 200));
  if (typeof url !== 'string' || !URL.canParse(url)) return { kind: 'url', message: `invalid URL ${shown}` };
  const scheme = new URL(url).protocol;
  if (customConnector || WEBSOCKET_SCHEMES.has(scheme)) return undefined;
  return { kind: 'url', message: `invalid URL ${shown}: the scheme must be ws: or wss:, not ${scheme}` };
}

export function connectErrorOf(cause: ConnectCause): ConnectError {
  return new ConnectError(cause.message, cause.closeCode, cause);
}
