import type { ConnectCause } from '../transport/connect-cause.js';
import { BUILTIN_ERRORS, type BuiltinErrorCode } from './error-codes.js';

/**
 * The caller's fault: invalid input, a denied permission, a domain rule ("job not found").
 * Sent to the client with its code, message and data; not logged as a server fault.
 *
 * @example throw new RequestError('JOB_NOT_FOUND', `no job ${id}`, { id });
 */
export class RequestError<Code extends string = string> extends Error {
  override readonly name = 'RequestError';
  constructor(
    readonly code: Code,
    message?: string,
    readonly data?: unknown,
  ) {
    super(message ?? (BUILTIN_ERRORS as Record<string, { message: string }>)[code]?.message ?? code);
  }
}

/**
 * What a client receives when a call fails: a request error with full detail, or `INTERNAL`
 * with a generic message and the `traceId` the server logged the cause under.
 */
export class CallError<Code extends string = string> extends Error {
  override readonly name = 'CallError';
  constructor(
    readonly code: Code | BuiltinErrorCode,
    message: string,
    readonly data?: unknown,
    readonly traceId?: string,
  ) {
    super(message);
  }
}

/**
 * Why a client could not connect, or closed for good: `cause` says what failed (refused, DNS, TLS,
 * timeout, an HTTP status, a close code...; see docs/client.md), `closeCode` the close code if any.
 */
export class ConnectError extends Error {
  override readonly name = 'ConnectError';
  declare readonly cause?: ConnectCause;
  constructor(
    message: string,
    readonly closeCode?: number,
    cause?: ConnectCause,
  ) {
    super(message, cause ? { cause } : undefined);
  }
}
