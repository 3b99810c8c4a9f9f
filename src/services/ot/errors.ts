/**
 * The ot service's error codes, each with the message a client sees by default. The service
 * declares them (so the dispatcher sends them in full) and docs/ot.md lists the same table.
 */
export const OT_ERRORS = {
  /** A packet (or fetch) names a version the document has not reached yet. */
  OT_VERSION_AHEAD: 'The version is ahead of the document',
  /** A packet is based on a version older than the history the document keeps (`maxHistory`). */
  OT_VERSION_TOO_OLD: 'The version is older than the kept history',
  /** Ops that cannot apply: empty list, skip or delete past the end, a negative or fractional count. */
  OT_BAD_OPS: 'The operations do not apply to the document',
  /** The crc32 the sender expected does not match the contents the packet produces. */
  OT_CRC_MISMATCH: 'The crc32 does not match the contents',
  /** No cursor with that id belongs to the caller's session. */
  OT_CURSOR_NOT_FOUND: 'No such cursor',
  /** The session already holds `maxCursorsPerSession` cursors. */
  OT_TOO_MANY_CURSORS: 'Too many cursors',
  /** Client side: a packet's crc32 does not match the client's copy of the server text, or a packet came twice. */
  OT_DIVERGED: "The client's copy no longer matches the server's",
  /** `link` cannot load a path: no loader is configured, or the document is linked or edited already. */
  OT_LINK_REFUSED: 'The document cannot be linked to that path',
} as const;

/** One of the ot service's error codes. */
export type OtErrorCode = keyof typeof OT_ERRORS;

/**
 * A refusal by the OT algorithms or the document, with a stable code. The service handlers turn it
 * into a request error with the same code; `OtClient` throws it as is.
 *
 * @example new OtError('OT_BAD_OPS', 'skip of 3 at 2 passes the end (length 4)')
 */
export class OtError extends Error {
  override readonly name = 'OtError';
  constructor(
    readonly code: OtErrorCode,
    message: string = OT_ERRORS[code],
  ) {
    super(message);
  }
}
