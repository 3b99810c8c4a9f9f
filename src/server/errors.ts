import { randomBytes } from 'node:crypto';
import { isBuiltinErrorCode } from '../protocol/error-codes.js';
import { RequestError } from '../protocol/errors.js';
import type { CallId, ErrorMessage } from '../wire/message.js';
import type { Runtime } from './runtime.js';

/** 8 random bytes in hex, as in the Hemi seed: short enough to read out, unique enough to grep. */
export function newTraceId(): string {
  return randomBytes(8).toString('hex');
}

/**
 * Turns whatever a handler threw into what the client may see. Request errors go out in full.
 * Anything else, including a RequestError whose code the protocol does not declare, is internal:
 * the client gets `INTERNAL` and a trace id, the log gets the trace id and the stack.
 */
export function toErrorMessage(
  runtime: Runtime,
  error: unknown,
  id: CallId | undefined,
  context: { command?: string; connectionId: string },
): ErrorMessage {
  if (error instanceof RequestError) {
    if (isBuiltinErrorCode(error.code) || runtime.protocol.errors.has(error.code)) {
      return {
        type: 'error',
        ...(id === undefined ? {} : { id }),
        code: error.code,
        message: error.message,
        ...(error.data === undefined ? {} : { data: error.data }),
        ...(context.command ? { command: context.command } : {}),
      };
    }
  }
  const traceId = newTraceId();
  const undeclared = error instanceof RequestError ? ` (undeclared error code "${error.code}")` : '';
  runtime.logger.error(`internal error${undeclared}`, { traceId, ...context, error });
  return {
    type: 'error',
    ...(id === undefined ? {} : { id }),
    code: 'INTERNAL',
    message: 'Internal error',
    traceId,
    ...(context.command ? { command: context.command } : {}),
  };
}
