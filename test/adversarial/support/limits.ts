import type { Limits } from '../../../src/server/index.js';

/**
 * Limits every adversarial server on the core runs with, so the cases are quick: frames up to
 * 256 KiB, a 250 ms heartbeat with a 2 s timeout (a stalled test process must not cost the witness
 * its connection), 50 pending handshakes (so 100 stuck peers meet the 503), and per-principal
 * limits out of reach (every peer may be the same principal).
 */
export const ADVERSARIAL_LIMITS: Partial<Limits> = {
  maxMessageBytes: 256 * 1024,
  heartbeatMs: 250,
  heartbeatTimeoutMs: 2000,
  maxPendingHandshakes: 50,
  maxConnectionsPerPrincipal: 1_000_000,
  connectRatePerPrincipal: 1_000_000,
};

/** `main`: a rate and an in-flight cap too high to reach, so 10,000 frames on one connection are all decoded. */
export const MAIN_LIMITS: Partial<Limits> = {
  ratePerSecond: 1_000_000,
  rateBurst: 1_000_000,
  maxInFlight: 10_000,
};

/** `tight`: the default rate, and 4 new connections per second per address, so a reconnecting flooder meets its 429. */
export const TIGHT_LIMITS: Partial<Limits> = { connectRatePerAddress: 4 };
