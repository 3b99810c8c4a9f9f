/** Hemi's connection timeouts and limits (`api/protocol`), in ms and bytes. */
export const HEMI_TIMEOUTS = {
  /** `WSConnectTimeout`: dial, handshake and the initial ping. */
  connectMs: 20_000,
  /** `WSHandshakeTimeout`: the secp256k1 handshake. Serve with `limits: { handshakeTimeoutMs: HEMI_TIMEOUTS.handshakeMs }`. */
  handshakeMs: 15_000,
  /** popm's wait between a lost connection and the next dial. */
  holdoffMs: 5_000,
  /** `defaultConnReadLimit`: the largest frame a client reads. */
  readLimitBytes: 512 * 1024,
} as const;
