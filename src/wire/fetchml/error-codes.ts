/**
 * The error packet's 1-byte codes, grouped as in fetch_ml: 0x00–0x05 the client's fault, 0x10–0x14
 * infrastructure, 0x20–0x24 job lifecycle, 0x30–0x33 resources. Only 0x00 and 0x01 were seen by name;
 * the other names are ours, chosen from the group descriptions. docs/wire-fetchml.md has the same table.
 */
export const ERROR_CODES = {
  /** Anything that fits no other code. */
  UNKNOWN_ERROR: 0x00,
  /** The frame or its input is not valid: unknown opcode, short or truncated payload, failed schema. */
  INVALID_REQUEST: 0x01,
  /** The key hash matches no stored key. */
  AUTHENTICATION_FAILED: 0x02,
  /** The key's holder lacks the operation's permission (`jobs:create`...). */
  PERMISSION_DENIED: 0x03,
  /** The named thing (dataset, run) does not exist. */
  RESOURCE_NOT_FOUND: 0x04,
  /** The named thing exists already. */
  RESOURCE_ALREADY_EXISTS: 0x05,
  /** A fault on the server; the details carry the trace id it was logged under. */
  SERVER_OVERLOADED: 0x10,
  DATABASE_ERROR: 0x11,
  NETWORK_ERROR: 0x12,
  STORAGE_ERROR: 0x13,
  /** The operation did not finish in time. */
  TIMEOUT: 0x14,
  /** No such job. */
  JOB_NOT_FOUND: 0x20,
  /** The job is running (or has finished) and cannot take this operation. */
  JOB_ALREADY_RUNNING: 0x21,
  JOB_FAILED_TO_START: 0x22,
  JOB_EXECUTION_FAILED: 0x23,
  /** The job, or this stream, was cancelled. */
  JOB_CANCELLED: 0x24,
  OUT_OF_MEMORY: 0x30,
  DISK_FULL: 0x31,
  INVALID_CONFIGURATION: 0x32,
  /** The server is shutting down or a backend it needs is unreachable. */
  SERVICE_UNAVAILABLE: 0x33,
} as const;

/** An error byte by name, e.g. `AUTHENTICATION_FAILED`. */
export type ErrorCodeName = keyof typeof ERROR_CODES;

/** Codes fetch_ml's source showed by name; the rest are ours. */
export const SEED_ERROR_CODES: ReadonlySet<ErrorCodeName> = new Set(['UNKNOWN_ERROR', 'INVALID_REQUEST']);

/** Switchboard's built-in error codes on this wire. */
export const BUILTIN_ERROR_MAP: Readonly<Record<string, ErrorCodeName>> = {
  BAD_MESSAGE: 'INVALID_REQUEST',
  UNKNOWN_COMMAND: 'INVALID_REQUEST',
  INVALID_INPUT: 'INVALID_REQUEST',
  DUPLICATE_ID: 'INVALID_REQUEST',
  TOO_LARGE: 'INVALID_REQUEST',
  UNAUTHENTICATED: 'AUTHENTICATION_FAILED',
  PERMISSION_DENIED: 'PERMISSION_DENIED',
  TIMEOUT: 'TIMEOUT',
  CANCELLED: 'JOB_CANCELLED',
  TOO_MANY_IN_FLIGHT: 'SERVER_OVERLOADED',
  RATE_LIMITED: 'SERVER_OVERLOADED',
  INTERNAL: 'SERVER_OVERLOADED',
  UNAVAILABLE: 'SERVICE_UNAVAILABLE',
  DISCONNECTED: 'NETWORK_ERROR',
  NOT_CONNECTED: 'NETWORK_ERROR',
  UNKNOWN_TOPIC: 'INVALID_REQUEST',
  TOO_MANY_SUBSCRIPTIONS: 'SERVER_OVERLOADED',
  // fetch_ml has no channels; a protocol with services served over it still gets exact bytes.
  UNKNOWN_SERVICE: 'INVALID_REQUEST',
  CHANNEL_NOT_FOUND: 'RESOURCE_NOT_FOUND',
  CHANNEL_EXISTS: 'RESOURCE_ALREADY_EXISTS',
  CHANNEL_CLOSED: 'SERVICE_UNAVAILABLE',
  TOO_MANY_CHANNELS: 'SERVER_OVERLOADED',
};

/**
 * The byte for a Switchboard error code: the protocol's own map first, then the built-ins, then the
 * naming convention (`…_NOT_FOUND` → 0x04, `…_EXISTS` → 0x05), else UNKNOWN_ERROR.
 */
export function errorCodeFor(
  code: string,
  protocolMap: Readonly<Record<string, ErrorCodeName>> = {},
): number {
  const name =
    protocolMap[code] ??
    BUILTIN_ERROR_MAP[code] ??
    (code.endsWith('_NOT_FOUND')
      ? 'RESOURCE_NOT_FOUND'
      : code.endsWith('_EXISTS')
        ? 'RESOURCE_ALREADY_EXISTS'
        : 'UNKNOWN_ERROR');
  return ERROR_CODES[name];
}

const NAME_BY_BYTE = new Map<number, ErrorCodeName>(
  Object.entries(ERROR_CODES).map(([name, byte]) => [byte, name as ErrorCodeName]),
);

/** The name of an error byte, or undefined for a byte outside the table. */
export function errorCodeName(byte: number): ErrorCodeName | undefined {
  return NAME_BY_BYTE.get(byte);
}
