import { CLOSE_CODES } from '../../protocol/close-codes.js';

/**
 * Close codes on the Hemi wire. `HANDSHAKE_ERROR` is Hemi's own (`StatusHandshakeErr`); the others
 * are the Switchboard codes a Switchboard server closes with where a Hemi server would just drop
 * the connection. docs/wire-hemi.md lists the same table; a test keeps the two in step.
 */
export const HEMI_CLOSE_CODES = {
  /** Closed on purpose, by either side. */
  NORMAL: CLOSE_CODES.NORMAL.code,
  /** The handshake failed: a key not allowed ("invalid public key"), a bad signature, another signer. */
  HANDSHAKE_ERROR: 4100,
  /** No hello, or no signed challenge, within the server's `handshakeTimeoutMs`. */
  HANDSHAKE_TIMEOUT: CLOSE_CODES.HANDSHAKE_TIMEOUT.code,
  /** A frame the server cannot take: unknown command, malformed JSON or payload (Hemi's `ErrInvalidCommand`). */
  INVALID_COMMAND: CLOSE_CODES.INCOMPATIBLE_PROTOCOL.code,
  /** A binary frame: Hemi speaks text frames only. */
  UNSUPPORTED_DATA: CLOSE_CODES.UNSUPPORTED_DATA.code,
  /** A request before the handshake completed. */
  PROTOCOL_ERROR: CLOSE_CODES.PROTOCOL_ERROR.code,
} as const;
