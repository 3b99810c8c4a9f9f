/**
 * A token bucket: `ratePerSecond` tokens refill continuously up to `burst`. The server charges each
 * connection's frames to one; the client paces its sends with one sized from the welcome, so it lives
 * here, free of server code. `take()` reports how deep in debt the caller is, so abuse (sending on
 * after being told no) can be told apart from an occasional burst.
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
    this.refill(now);
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : -this.tokens;
  }

  /** Takes one token if one is there; a refusal costs nothing (nor deepens any debt). */
  tryTake(now: number): boolean {
    this.refill(now);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Whether the bucket is back at its burst: it then remembers nothing and can be forgotten. */
  isFull(now: number): boolean {
    this.refill(now);
    return this.tokens >= this.burst;
  }

  private refill(now: number): void {
    const elapsed = now - this.updatedAt;
    // Only when time passed: an Infinity rate (a limit turned off) times 0 ms would be NaN.
    if (elapsed > 0) this.tokens = Math.min(this.burst, this.tokens + (elapsed * this.ratePerSecond) / 1000);
    // A clock that steps back (NTP) refills nothing, and is not charged as negative time either.
    this.updatedAt = Math.max(this.updatedAt, now);
  }

  /** Spends every token there is (a debt is kept): for a holder told by its peer that it is over. */
  empty(now: number): void {
    this.refill(now);
    this.tokens = Math.min(this.tokens, 0);
  }

  /** Milliseconds until one token is available again. */
  retryAfterMs(): number {
    return Math.max(0, Math.ceil(((1 - this.tokens) * 1000) / this.ratePerSecond));
  }
}
