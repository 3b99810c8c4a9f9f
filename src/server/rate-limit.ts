/**
 * A token bucket per connection: `ratePerSecond` tokens refill continuously up to `burst`.
 * `take()` reports how deep in debt the caller is, so abuse (sending on after being told no)
 * can be told apart from an occasional burst.
 */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number;

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.updatedAt = now;
  }

  /** Takes one token. Returns 0 when granted, else how many messages over the limit the caller is. */
  take(now: number): number {
    this.tokens = Math.min(
      this.burst,
      this.tokens + (Math.max(0, now - this.updatedAt) * this.ratePerSecond) / 1000,
    );
    // A clock that steps back (NTP) refills nothing, and is not charged as negative time either.
    this.updatedAt = Math.max(this.updatedAt, now);
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : -this.tokens;
  }

  /** Milliseconds until one token is available again. */
  retryAfterMs(): number {
    return Math.max(0, Math.ceil(((1 - this.tokens) * 1000) / this.ratePerSecond));
  }
}
