/** How a finished idempotent call ended: kept for the window, then forgotten. */
export type StoredOutcome =
  | { readonly ok: true; readonly output: unknown }
  | { readonly ok: false; readonly code: string; readonly message: string; readonly data?: unknown };

/** What `claim` found: the key is now ours to run, another run holds it, or it finished already. */
export type Claim =
  | { readonly state: 'claimed' }
  | { readonly state: 'running' }
  | { readonly state: 'done'; readonly outcome: StoredOutcome };

/**
 * Remembers idempotent calls by key, shared by every node that shares the broker, so a retry that
 * lands on another node finds the first run. Keys are claimed before the handler runs; the claim
 * expires after `ttlMs` (the call's timeout plus a margin) so a node that died mid-call does not block
 * the key; a finished call's outcome is kept for the idempotency window.
 */
export interface IdempotencyStore {
  claim(key: string, ttlMs: number): Promise<Claim>;
  /** Records the outcome of a claimed run, kept for `windowMs`. */
  complete(key: string, outcome: StoredOutcome, windowMs: number): Promise<void>;
  /** Gives a claim up (the run failed on our side): the next retry runs the handler again. */
  release(key: string): Promise<void>;
}

/** The idempotency store of one process (the memory broker's). */
export class MemoryIdempotencyStore implements IdempotencyStore {
  private readonly entries = new Map<string, { value: 'running' | StoredOutcome; expiresAt: number }>();

  async claim(key: string, ttlMs: number): Promise<Claim> {
    const now = Date.now();
    this.sweep(now);
    const entry = this.entries.get(key);
    if (!entry) {
      this.entries.set(key, { value: 'running', expiresAt: now + ttlMs });
      return { state: 'claimed' };
    }
    return entry.value === 'running' ? { state: 'running' } : { state: 'done', outcome: entry.value };
  }

  async complete(key: string, outcome: StoredOutcome, windowMs: number): Promise<void> {
    this.entries.set(key, { value: outcome, expiresAt: Date.now() + windowMs });
  }

  async release(key: string): Promise<void> {
    if (this.entries.get(key)?.value === 'running') this.entries.delete(key);
  }

  /** Expired entries go on the next claim: Map order is insertion order, close to expiry order. */
  private sweep(now: number): void {
    for (const [key, entry] of this.entries) {
      if (entry.expiresAt <= now) this.entries.delete(key);
      else if (entry.expiresAt > now + 60_000) break;
    }
  }
}
