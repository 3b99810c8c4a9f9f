import type { LayoutError } from './layout.js';
import {
  hexByte,
  OPCODES,
  type OperationName,
  operationOf,
  REQUEST_LAYOUTS,
  type RequestFields,
} from './opcodes.js';

/** A decoded request frame: which operation, and its fields (the key hash among them). */
export type FetchmlRequest = {
  [Op in OperationName]: {
    readonly operation: Op;
    readonly opcode: number;
    readonly fields: RequestFields<Op>;
  };
}[OperationName];

/** Why a request frame did not decode: an empty frame, an unknown opcode, or its layout's error. */
export type RequestDecodeError =
  | { readonly reason: 'empty'; readonly message: string }
  | { readonly reason: 'unknown_opcode'; readonly opcode: number; readonly message: string }
  | ({ readonly operation: OperationName; readonly opcode: number } & LayoutError);

/** What `decodeRequest` returns. */
export type RequestResult =
  | { readonly ok: true; readonly request: FetchmlRequest }
  | { readonly ok: false; readonly error: RequestDecodeError };

/**
 * Encodes `[opcode:1][api_key_hash:16][fields…]`. Throws a RangeError for a value the layout cannot carry.
 *
 * @example encodeRequest('cancel_job', { api_key_hash: hash, job_name: 'job-1' })
 */
export function encodeRequest<Op extends OperationName>(
  operation: Op,
  fields: RequestFields<Op>,
): Uint8Array {
  const body = (REQUEST_LAYOUTS[operation] as { encode(values: unknown): Uint8Array }).encode(fields);
  const frame = new Uint8Array(1 + body.length);
  frame[0] = OPCODES[operation];
  frame.set(body, 1);
  return frame;
}

/** Decodes a request frame; never throws. Error messages name the operation and the field. */
export function decodeRequest(frame: Uint8Array): RequestResult {
  if (frame.length === 0) return { ok: false, error: { reason: 'empty', message: 'empty frame: no opcode' } };
  const opcode = frame[0]!;
  const operation = operationOf(opcode);
  if (!operation) {
    return {
      ok: false,
      error: { reason: 'unknown_opcode', opcode, message: `unknown opcode ${hexByte(opcode)}` },
    };
  }
  const layout = REQUEST_LAYOUTS[operation] as {
    decode(bytes: Uint8Array): { ok: true; value: unknown } | { ok: false; error: LayoutError };
  };
  const decoded = layout.decode(frame.subarray(1));
  if (!decoded.ok) {
    const { error } = decoded;
    return {
      ok: false,
      error: { ...error, operation, opcode, message: `${operation} (${hexByte(opcode)}): ${error.message}` },
    };
  }
  return { ok: true, request: { operation, opcode, fields: decoded.value } as FetchmlRequest };
}
