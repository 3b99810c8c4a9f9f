import type { Publication } from '../broker/broker.js';
import type { BackpressurePolicy } from '../protocol/define.js';

/**
 * Publications held back for one slow follower of one topic key, under the topic's back-pressure
 * policy, while its socket is behind. Bounded whatever the publisher does: memory per slow client
 * stays at `limit` (drop-oldest) or `maxKeys` (latest-by-key) publications.
 */
export interface HeldPublications {
  readonly size: number;
  hold(publication: Publication): void;
  /** The oldest held publication and how many were dropped for good before it; undefined when empty. */
  next(): { publication: Publication; skipped: number } | undefined;
}

/** Dropped-or-delivered entries at the head of a drop-oldest queue before it is compacted. */
export const COMPACT_AFTER = 1024;

/** Default bound of a latest-by-key queue: distinct conflation keys held for one follower. */
export const DEFAULT_MAX_CONFLATED_KEYS = 10_000;

export function heldPublications(
  policy: Exclude<BackpressurePolicy, { policy: 'disconnect' }>,
): HeldPublications {
  return policy.policy === 'drop-oldest'
    ? new DropOldest(policy.limit)
    : new LatestByKey(policy.key, policy.maxKeys);
}

/** A bounded FIFO: when full, the oldest goes, and the follower is told how many it missed. */
class DropOldest implements HeldPublications {
  private readonly queue: Publication[] = [];
  private head = 0;
  private skipped = 0;

  constructor(private readonly limit: number) {}

  get size(): number {
    return this.queue.length - this.head;
  }

  hold(publication: Publication): void {
    this.queue.push(publication);
    if (this.size > this.limit) {
      this.head++;
      this.skipped++;
    }
    // Compact now and then rather than shift() each time: O(1) per publication.
    if (this.head > COMPACT_AFTER && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
  }

  next() {
    if (this.size === 0) return undefined;
    const publication = this.queue[this.head++]!;
    const skipped = this.skipped;
    this.skipped = 0;
    if (this.head === this.queue.length) this.queue.length = this.head = 0;
    return { publication, skipped };
  }
}

/**
 * Conflation: per conflation key (a ticker symbol, a document id) only the newest pending value is
 * kept; older values of the same key are superseded, not lost. Past `maxKeys` distinct keys, the
 * key with the oldest pending value is dropped and counted as skipped.
 */
class LatestByKey implements HeldPublications {
  private readonly latest = new Map<string, Publication>();
  private skipped = 0;

  constructor(
    private readonly keyOf: (payload: never) => string,
    private readonly maxKeys = DEFAULT_MAX_CONFLATED_KEYS,
  ) {}

  get size(): number {
    return this.latest.size;
  }

  hold(publication: Publication): void {
    let key: string;
    try {
      key = String(this.keyOf(publication.payload as never));
    } catch {
      // A payload the key function cannot read is held under its own offset: never conflated.
      key = `\u0000${publication.offset}`;
    }
    // Re-inserting moves the key to the end: the Map stays ordered by each key's newest offset.
    this.latest.delete(key);
    this.latest.set(key, publication);
    if (this.latest.size > this.maxKeys) {
      const oldest = this.latest.keys().next().value as string;
      this.latest.delete(oldest);
      this.skipped++;
    }
  }

  next() {
    const first = this.latest.entries().next();
    if (first.done) return undefined;
    const [key, publication] = first.value;
    this.latest.delete(key);
    const skipped = this.skipped;
    this.skipped = 0;
    return { publication, skipped };
  }
}
