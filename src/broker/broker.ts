import type { IdempotencyStore } from './idempotency.js';

/** A publication's place in its topic key: `offset` counts up from 1 within one `epoch`. */
export interface Position {
  /** Changes whenever the key's history is lost (a broker restart without persistence). */
  readonly epoch: string;
  readonly offset: number;
}

export interface Publication extends Position {
  readonly key: string;
  readonly payload: unknown;
}

/** What `history` returns: the retained publications asked for, and the bounds of what is kept. */
export interface History {
  readonly epoch: string;
  /** Offset of the newest publication (0 when there is none). */
  readonly top: number;
  /** Offset of the oldest publication still kept (top + 1 when none is). */
  readonly first: number;
  readonly publications: readonly Publication[];
}

/** `after`: publications with a greater offset; `last`: the newest N. Neither: none, only the bounds. */
export type HistoryQuery = { readonly after: number } | { readonly last: number } | Record<string, never>;

/** A member of a key's presence set: one connection of one user. */
export interface Member {
  readonly connectionId: string;
  readonly userId: string;
  readonly info?: unknown;
}

export type PresenceChange = { readonly type: 'join' | 'leave'; readonly member: Member };

/**
 * Told to a live listener when publications between what it had and where delivery resumes are
 * gone: `epoch` when the key's history was lost under it (a broker restart without persistence),
 * `trimmed` when it fell further behind than the kept history. The same shape a resuming client
 * gets in `onGap`. Publications after `resumedAt` follow in order.
 */
export interface BrokerGap {
  readonly reason: 'epoch' | 'trimmed';
  /** The last position delivered to the listener before the gap. */
  readonly from: Position;
  /** Where delivery resumes: the next publication has offset `resumedAt.offset + 1` in its epoch. */
  readonly resumedAt: Position;
}

/** What else a broker listener wants to hear about than publications. */
export interface ListenOptions {
  /** Publications were lost under a live listener; brokers that can lose history call it. */
  readonly onGap?: (gap: BrokerGap) => void;
}

/**
 * Where publications live and how they reach every server node. Two implementations pass the
 * same conformance suite (test/broker/conformance.ts): `MemoryBroker` for one process, the Redis
 * broker for many.
 *
 * Contract: for one key, listeners see publications in offset order, each once, and `history`
 * returns the same publications with the same offsets. A failed publish rejects; it never half-succeeds.
 */
export interface Broker {
  /** True when other server processes share this broker, so pushes to a user must go through it. */
  readonly distributed?: boolean;
  /** Where idempotent calls are remembered; without it each server keeps its own in memory. */
  readonly idempotency?: IdempotencyStore;
  publish(key: string, payload: unknown): Promise<Publication>;
  history(key: string, query: HistoryQuery): Promise<History>;
  /**
   * Listens to new publications of a key; resolves once listening. Returns the function that stops
   * it. A listener that throws does not stop delivery to the others.
   */
  subscribe(
    key: string,
    listener: (publication: Publication) => void,
    options?: ListenOptions,
  ): Promise<() => Promise<void>>;
  /** Adds a member to a key's presence set; it expires after `ttlMs` unless joined again (a heartbeat). */
  join(key: string, member: Member, ttlMs: number): Promise<void>;
  leave(key: string, connectionId: string): Promise<void>;
  members(key: string): Promise<Member[]>;
  onPresence(key: string, listener: (change: PresenceChange) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

/** Thrown when the broker cannot take a publish (closed, or its backend is unreachable). */
export class BrokerError extends Error {
  override readonly name = 'BrokerError';
}
