/**
 * What kind of failure ended a connect attempt:
 * - `url`: the URL is not one a socket can be opened to (never retried);
 * - `refused`: nothing listens at the address (ECONNREFUSED);
 * - `dns`: the host name does not resolve (ENOTFOUND, EAI_AGAIN);
 * - `tls`: the TLS handshake failed (a certificate the client does not trust, a protocol mismatch);
 * - `timeout`: the socket did not open, or the handshake did not finish, within `connectTimeoutMs`;
 * - `http`: the server answered the upgrade request with an HTTP status instead of upgrading;
 * - `closed`: the server upgraded, then closed the socket before or without welcoming the client
 *   (e.g. 4100 from a failing authenticator), or closed an open connection;
 * - `network`: anything else, and all a browser can tell (it exposes a 1006 close and no more).
 */
export type ConnectCauseKind = 'url' | 'refused' | 'dns' | 'tls' | 'timeout' | 'http' | 'closed' | 'network';

/** Why a connect attempt failed, as precisely as the platform lets the client know. */
export interface ConnectCause {
  readonly kind: ConnectCauseKind;
  readonly message: string;
  /** Node's error code, e.g. `ECONNREFUSED`, `ENOTFOUND`, `EAI_AGAIN`, `CERT_HAS_EXPIRED`. */
  readonly code?: string;
  /** The HTTP status of a refused upgrade (kind `http`). */
  readonly status?: number;
  /** The start of the refusal's body, at most MAX_CAUSE_BODY_BYTES, read for at most CAUSE_BODY_WAIT_MS. */
  readonly body?: string;
  /** A refusal's `Retry-After`, in ms, at most MAX_RETRY_AFTER_MS. */
  readonly retryAfterMs?: number;
  /** The WebSocket close code (kinds `closed` and `network`; the client's own 4101 for `timeout`). */
  readonly closeCode?: number;
  readonly closeReason?: string;
}

/** Most bytes of a refused upgrade's body kept in its cause: enough for a JSON error, not a page. */
export const MAX_CAUSE_BODY_BYTES = 1024;
/** Longest wait for a refused upgrade's body before the cause is reported with what arrived. */
export const CAUSE_BODY_WAIT_MS = 1000;
/** Longest `Retry-After` honoured, in ms: a peer must not park a client for days. */
export const MAX_RETRY_AFTER_MS = 300_000;

/**
 * Whether the client tries again after an upgrade refused with this HTTP status. Statuses listed
 * here are decided one by one; any other 5xx is retried, any other status is not (it will not
 * change by asking again: a 3xx the socket does not follow, a 2xx from a plain HTTP endpoint).
 */
export const HTTP_STATUS_RETRY: Readonly<Record<number, boolean>> = {
  400: false,
  401: false,
  403: false,
  404: false,
  405: false,
  408: true,
  410: false,
  426: false,
  429: true,
  500: true,
  502: true,
  503: true,
  504: true,
};

export function httpStatusRetries(status: number): boolean {
  return HTTP_STATUS_RETRY[status] ?? status >= 500;
}

/** Node error codes by the kind of failure they mean; unknown codes are `network`. */
const ERROR_CODE_KINDS: Readonly<Record<string, ConnectCauseKind>> = {
  ECONNREFUSED: 'refused',
  ENOTFOUND: 'dns',
  EAI_AGAIN: 'dns',
  EAI_FAIL: 'dns',
  EAI_NONAME: 'dns',
  ETIMEDOUT: 'timeout',
  EPROTO: 'tls',
};

/** The kind of a Node error code: TLS errors come as ERR_TLS_*, ERR_SSL_*, or OpenSSL's certificate codes. */
export function kindOfErrorCode(code: string): ConnectCauseKind {
  const known = ERROR_CODE_KINDS[code];
  if (known) return known;
  if (/^ERR_(TLS|SSL)_|CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)/.test(code)) return 'tls';
  return 'network';
}

/** The cause of an error a socket raised before it opened (`ws` hands over Node's error). */
export function causeOfError(error: unknown): ConnectCause | undefined {
  if (!(error instanceof Error)) return undefined;
  const code = (error as { code?: unknown }).code;
  // Undici's WebSocket (Node 22's global) wraps Node's error as the cause of its own.
  if (typeof code !== 'string' && error.cause instanceof Error) return causeOfError(error.cause);
  if (typeof code !== 'string') return { kind: 'network', message: error.message };
  return { kind: kindOfErrorCode(code), code, message: error.message };
}

/** A `Retry-After` header (seconds or an HTTP date) in ms, bounded; undefined when absent or unreadable. */
export function retryAfterMs(header: string | undefined, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const trimmed = header.trim();
  // An HTTP date names its day and month; anything else that is not whole seconds is unreadable.
  const ms = /^\d+$/.test(trimmed)
    ? Number(trimmed) * 1000
    : /[a-z]/i.test(trimmed)
      ? Date.parse(trimmed) - now
      : Number.NaN;
  if (!Number.isFinite(ms)) return undefined;
  return Math.min(MAX_RETRY_AFTER_MS, Math.max(0, ms));
}

/** Bytes of a body cut to MAX_CAUSE_BODY_BYTES, as text, without a broken last character. */
export function boundedBody(bytes: Uint8Array): string {
  const cut = bytes.length > MAX_CAUSE_BODY_BYTES;
  const text = new TextDecoder().decode(cut ? bytes.subarray(0, MAX_CAUSE_BODY_BYTES) : bytes);
  return cut ? text.replace(/\uFFFD$/, '') : text;
}
