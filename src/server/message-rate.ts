import { TokenBucket } from './rate-limit.js';

/**
 * What a connection does with one incoming frame, decided before the frame is decoded:
 * - `accept`: within the rate; decode and serve it.
 * - `refuse`: over the rate and not yet told so in this debt period; decode it so a request can be
 *   answered `RATE_LIMITED` (cancels and credits still go through: they only reduce load).
 * - `drop`: over the rate and already told; discard it unread (no decoding, no reply).
 * - `abuse`: owes more than the burst; drop the connection (4202).
 */
export type FrameVerdict = 'accept' | 'refuse' | 'drop' | 'abuse';

/**
 * A connection's message rate: a token bucket plus the memory of whether the peer has been told
 * `RATE_LIMITED` since it last fell into debt. A debt period starts with the first frame over the
 * rate and ends with the next frame that finds a token; it gets one `RATE_LIMITED`, not one per frame,
 * so a flood past the limit costs the server one token check per frame.
 */
export class MessageRate {
  private readonly bucket: TokenBucket;
  private told = false;

  constructor(
    ratePerSecond: number,
    private readonly burst: number,
    now: number,
  ) {
    this.bucket = new TokenBucket(ratePerSecond, burst, now);
  }

  /** Charges one frame and says what to do with it. */
  admit(now: number): FrameVerdict {
    const debt = this.bucket.take(now);
    if (debt === 0) {
      this.told = false;
      return 'accept';
    }
    if (debt > this.burst) return 'abuse';
    return this.told ? 'drop' : 'refuse';
  }

  /** The peer was answered `RATE_LIMITED`: frames until the debt is paid are dropped unread. */
  refused(): void {
    this.told = true;
  }

  /** Milliseconds until a frame would be accepted again. */
  retryAfterMs(): number {
    return this.bucket.retryAfterMs();
  }
}
