import { TokenBucket } from '../protocol/token-bucket.js';
import type { Frame } from '../wire/format.js';
import type { WelcomeLimits } from '../wire/message.js';

/** Something waiting to go out: told when its frame is written, and in what place on the connection. */
export interface Outgoing {
  sent: boolean;
  /** The number of frames written on this connection before this one. */
  sentAt: number;
}

interface Entry<O extends Outgoing> {
  readonly frame: Frame;
  readonly owner: O | undefined;
  /** Its owner gave up (timeout, abort) while it waited: skipped, never written. */
  dropped: boolean;
}

/**
 * Share of the announced burst the client leaves unspent: frames written apart can reach the server
 * bunched up (a stalled segment, a busy event loop at either end), so the client stays this far from
 * the server's limit...
 */
export const BURST_RESERVE = 0.1;
/** ...and at least this many milliseconds of the rate (all but one token of a smaller burst). */
export const JITTER_RESERVE_MS = 50;
/** Share of the announced rate the client paces to, for the same reason and for clock drift. */
export const RATE_SHARE = 0.99;
/** The longest hold a server's `retryAfterMs` can impose: a peer-controlled value is bounded. */
export const MAX_HOLD_MS = 60_000;

/**
 * One connection's frames on their way to the server, paced to the rate its welcome announced: a
 * frame that would cost a token the server does not have waits here, in order, until one is there.
 * Every frame waits its turn (cancels, credits and pongs too: the server charges them like any other,
 * and drops them like any other while the connection is in debt).
 */
export class Outbox<O extends Outgoing> {
  private bucket: TokenBucket | undefined;
  private ratePerSecond = Number.POSITIVE_INFINITY;
  private readonly waiting: Entry<O>[] = [];
  private readonly byOwner = new Map<O, Entry<O>>();
  private heldUntil = 0;
  /** A hold is running: when it ends the bucket starts empty (no tokens earned while held). */
  private holding = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;
  /** Frames written on this connection, handshake included. */
  sentCount = 0;

  constructor(private readonly write: (frame: Frame) => void) {}

  /**
   * Paces from now on to the server's limits, counting the frames already sent (the handshake's)
   * against the burst. A server that announces no usable rate is not paced.
   */
  start(limits: WelcomeLimits, now: number): void {
    const rate = limits.ratePerSecond;
    if (!(rate > 0) || !Number.isFinite(rate)) return;
    // Servers before rateBurst was announced: one second's worth (their default burst was larger).
    const announced = limits.rateBurst !== undefined && limits.rateBurst >= 1 ? limits.rateBurst : rate;
    const reserve = Math.max(announced * BURST_RESERVE, (rate * JITTER_RESERVE_MS) / 1000);
    const burst = Math.max(1, Math.floor(announced - reserve));
    this.ratePerSecond = rate * RATE_SHARE;
    this.bucket = new TokenBucket(this.ratePerSecond, burst, now);
    for (let i = 0; i < this.sentCount; i++) this.bucket.take(now);
    this.drain();
  }

  /** Writes `frame` now if nothing waits and a token is there; else it waits its turn. */
  send(frame: Frame, owner?: O): void {
    if (this.closed) return;
    if (owner) owner.sent = false;
    const entry: Entry<O> = { frame, owner, dropped: false };
    this.waiting.push(entry);
    if (owner) this.byOwner.set(owner, entry);
    this.drain();
  }

  /** Puts frames the server dropped back at the head of the line, in the order given. */
  sendFirst(frames: readonly [Frame, O][]): void {
    if (this.closed) return;
    const entries = frames.map(([frame, owner]) => {
      owner.sent = false;
      const entry: Entry<O> = { frame, owner, dropped: false };
      this.byOwner.set(owner, entry);
      return entry;
    });
    this.waiting.unshift(...entries);
    this.drain();
  }

  /** Forgets `owner`'s frame if it has not gone out yet; returns whether it was waiting. */
  remove(owner: O): boolean {
    const entry = this.byOwner.get(owner);
    if (!entry) return false;
    entry.dropped = true;
    this.byOwner.delete(owner);
    return true;
  }

  /**
   * The server answered `RATE_LIMITED`: nothing goes out for `ms` (at most MAX_HOLD_MS), then pacing
   * resumes from an empty bucket. `dropped` frames it has probably dropped since each deepen its debt.
   */
  hold(ms: number, dropped: number, now: number): void {
    const bounded = Math.min(MAX_HOLD_MS, Math.max(0, ms) + (dropped * 1000) / this.ratePerSecond);
    this.heldUntil = Math.max(this.heldUntil, now + (Number.isFinite(bounded) ? bounded : 0));
    this.holding = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.drain();
  }

  /** Frames written on this connection after the one `owner` went out as. */
  sentSince(owner: O): number {
    return this.sentCount - owner.sentAt - 1;
  }

  /** The connection is gone: the owners of frames that never went out, in order, for the next one. */
  close(): O[] {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    const owners = this.waiting.filter((entry) => !entry.dropped && entry.owner).map((entry) => entry.owner!);
    this.waiting.length = 0;
    this.byOwner.clear();
    return owners;
  }

  private drain(): void {
    if (this.timer !== undefined || this.closed) return;
    while (this.waiting.length > 0) {
      const head = this.waiting[0]!;
      if (head.dropped) {
        this.waiting.shift();
        continue;
      }
      const now = Date.now();
      if (now < this.heldUntil) {
        this.wake(this.heldUntil - now);
        return;
      }
      if (this.holding) {
        // The server's debt is paid by heldUntil, not before: its bucket is empty then, and so is ours.
        this.holding = false;
        this.bucket?.empty(this.heldUntil);
      }
      if (this.bucket && !this.bucket.tryTake(now)) {
        this.wake(this.bucket.retryAfterMs());
        return;
      }
      this.waiting.shift();
      if (head.owner) {
        this.byOwner.delete(head.owner);
        head.owner.sent = true;
        head.owner.sentAt = this.sentCount;
      }
      this.sentCount++;
      this.write(head.frame);
    }
  }

  private wake(ms: number): void {
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.drain();
      },
      Math.max(1, ms),
    );
  }
}
