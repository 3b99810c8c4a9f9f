export interface BackoffOptions {
  /** First delay before reconnecting, in ms. Default 250. */
  readonly initialDelayMs?: number;
  /** Longest delay, in ms. Default 30 000. */
  readonly maxDelayMs?: number;
  /** Growth per failed attempt. Default 2. */
  readonly factor?: number;
  /** Give up after this many failed attempts in a row. Default: never. */
  readonly maxAttempts?: number;
}

/**
 * Exponential backoff with full jitter: a random delay in [0, min(max, initial·factor^attempt)].
 * Full jitter spreads a crowd of clients that lost the same server, so they do not return at once.
 */
export function backoffDelay(
  attempt: number,
  options: BackoffOptions = {},
  random: () => number = Math.random,
): number {
  const initial = options.initialDelayMs ?? 250;
  const max = options.maxDelayMs ?? 30_000;
  const factor = options.factor ?? 2;
  // initial 0 × an overflowed factor^attempt (Infinity) would be NaN.
  const ceiling = initial <= 0 ? 0 : Math.min(max, initial * factor ** attempt);
  return Math.round(random() * ceiling);
}
