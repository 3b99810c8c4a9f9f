/** The ot service's default limits; docs/ot.md's options table lists the same values. */
export const OT_DEFAULTS = {
  /** Packets kept per document for `fetch` and for transforming stale packets. */
  maxHistory: 1000,
  /** Cursors one session may hold at once. */
  maxCursorsPerSession: 16,
} as const;
