import { isObject } from './message.js';

/**
 * Hemi's protocol error (`api/protocol` `Error`), carried inside a response payload as `"error"`.
 * Internal errors carry a trace and the message "internal error"; request errors carry no trace.
 */
export interface HemiError {
  /** Unix seconds when the error was made. */
  readonly timestamp: number;
  /** 16 lowercase hex digits; present on internal errors only. */
  readonly trace?: string;
  readonly message: string;
}

/** The message every internal error shows the client; the cause stays in the server log. */
export const INTERNAL_ERROR_MESSAGE = 'internal error';

const HEX16 = /^[0-9a-f]{16}$/;

/**
 * The 16-hex trace for a Switchboard trace id (ours: Hemi makes 8 random bytes). The core's ids are
 * already 8 bytes of hex and pass unchanged; any other id keeps its first 16 hex digits, lowercased,
 * right-padded with `0`, so the trace still finds the log line by prefix.
 *
 * @example hemiTrace('3F2A-9c') // '3f2a9c0000000000'
 */
export function hemiTrace(traceId: string): string {
  const lower = traceId.toLowerCase();
  if (HEX16.test(lower)) return lower;
  return lower
    .replace(/[^0-9a-f]/g, '')
    .slice(0, 16)
    .padEnd(16, '0');
}

/** A request error: the caller's fault, no trace. */
export function requestError(message: string, timestamp: number): HemiError {
  return { timestamp, message };
}

/** An internal error: the generic message and the trace the server logged the cause under. */
export function internalError(trace: string, timestamp: number): HemiError {
  return { timestamp, trace, message: INTERNAL_ERROR_MESSAGE };
}

/** The error inside a response payload, if it has a well-formed one. Never throws. */
export function errorOf(payload: unknown): HemiError | undefined {
  if (!isObject(payload)) return undefined;
  const error = payload.error;
  if (!isObject(error)) return undefined;
  const { timestamp, trace, message } = error;
  if (typeof timestamp !== 'number' || !Number.isFinite(timestamp) || typeof message !== 'string')
    return undefined;
  if (trace !== undefined && typeof trace !== 'string') return undefined;
  return trace === undefined || trace === '' ? { timestamp, message } : { timestamp, trace, message };
}

/** Renders as Hemi's `Error.String()` does: `message [trace:timestamp]`, or `message` without a trace. */
export function formatHemiError(error: HemiError): string {
  return error.trace ? `${error.message} [${error.trace}:${error.timestamp}]` : error.message;
}
