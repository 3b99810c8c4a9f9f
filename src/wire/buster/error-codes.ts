import { BUILTIN_ERRORS } from '../../protocol/error-codes.js';
import type { WsErrorCode } from './message.js';

/**
 * Buster's four error codes. docs/wire-buster.md lists the same table; a test keeps them in step.
 */
export const WS_ERROR_CODES = {
  /** A fault on the server (ours): the message carries a trace id, never the cause. */
  INTERNAL_SERVER_ERROR: 'Internal server error',
  /** The thing the route names does not exist (a protocol error whose code ends in `NOT_FOUND`). */
  NOT_FOUND: 'Not found',
  /** The caller lacks a permission the route requires, or its credential was refused. */
  UNAUTHORIZED: 'Unauthorized',
  /** The payload failed the route's schema, or another request error (the caller's fault). */
  BAD_REQUEST: 'Bad request',
} as const satisfies Record<WsErrorCode, string>;

/** Switchboard codes with a fixed Buster code; any other request error is BAD_REQUEST. */
const FIXED: Readonly<Record<string, WsErrorCode>> = {
  INTERNAL: 'INTERNAL_SERVER_ERROR',
  TIMEOUT: 'INTERNAL_SERVER_ERROR',
  UNAVAILABLE: 'INTERNAL_SERVER_ERROR',
  DISCONNECTED: 'INTERNAL_SERVER_ERROR',
  UNKNOWN_COMMAND: 'NOT_FOUND',
  UNKNOWN_TOPIC: 'NOT_FOUND',
  PERMISSION_DENIED: 'UNAUTHORIZED',
  UNAUTHENTICATED: 'UNAUTHORIZED',
  INVALID_INPUT: 'BAD_REQUEST',
  BAD_MESSAGE: 'BAD_REQUEST',
};

/**
 * Maps a Switchboard error code (built-in or a protocol's own) to Buster's:
 * built-ins by the table above; a protocol code that is already a Buster code stays;
 * `…NOT_FOUND` → NOT_FOUND; `…UNAUTHORIZED`/`…FORBIDDEN` → UNAUTHORIZED; any other → BAD_REQUEST.
 *
 * @example toWsErrorCode('JOB_NOT_FOUND') // 'NOT_FOUND'
 */
export function toWsErrorCode(code: string): WsErrorCode {
  const fixed = FIXED[code];
  if (fixed) return fixed;
  if (Object.hasOwn(WS_ERROR_CODES, code)) return code as WsErrorCode;
  if (code.endsWith('NOT_FOUND')) return 'NOT_FOUND';
  if (code.endsWith('UNAUTHORIZED') || code.endsWith('FORBIDDEN')) return 'UNAUTHORIZED';
  // Every other built-in is a request error (the caller's fault); so are a protocol's own codes.
  return Object.hasOwn(BUILTIN_ERRORS, code) &&
    (BUILTIN_ERRORS as Record<string, { kind: string }>)[code]?.kind === 'internal'
    ? 'INTERNAL_SERVER_ERROR'
    : 'BAD_REQUEST';
}
