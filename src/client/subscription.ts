import type { Position } from '../broker/broker.js';
import type { CallError } from '../protocol/errors.js';
import type { PresenceMember } from '../wire/message.js';

/** A join or leave on a presence topic. */
export interface PresenceChange {
  readonly change: 'join' | 'leave';
  readonly member: PresenceMember;
}

/** Why a subscription could not recover everything it missed. */
export interface Gap {
  /**
   * `trimmed`: history no longer reaches back far enough; `epoch`: the history itself was lost;
   * `dropped`: this client read too slowly for a `drop-oldest` topic and `missed` publications went.
   */
  readonly reason: 'trimmed' | 'epoch' | 'dropped';
  /** On `dropped`: how many publications this client missed. */
  readonly missed?: number;
  /** Where the subscription was (undefined on a first subscribe with `from`). */
  readonly from: Position | undefined;
  /** Where delivery resumes. */
  readonly resumedAt: Position;
}

export interface SubscribeOptions {
  /** On the first subscribe: the last N publications, or after a stored position. Default: from now. */
  readonly from?: { readonly last: number } | Position;
  /** Publications were lost for good; refetch a snapshot. Never silent. */
  readonly onGap?: (gap: Gap) => void;
  /** On snapshot topics: the state to start from, before the publications that follow it. */
  readonly onSnapshot?: (snapshot: unknown) => void;
  /** On presence topics: someone joined or left; `members` is the roster after the change. */
  readonly onPresence?: (change: PresenceChange, members: ReadonlyMap<string, PresenceMember>) => void;
  /** The server refused or ended the subscription (permission denied, unknown topic...). */
  readonly onError?: (error: CallError) => void;
}

/**
 * A live subscription. After any reconnect the client resumes it from `position` by itself; the
 * server sends what was missed, in order, and the client drops anything it has already delivered.
 */
export class Subscription<T = unknown> {
  /** The concrete topic key, e.g. `jobs.42.logs`, once the server confirmed it. */
  key: string | undefined;
  /** The last publication delivered (or the subscription's start). */
  position: Position | undefined;
  active = true;
  /** On presence topics: who follows this key, by connection id (this client included). */
  readonly members = new Map<string, PresenceMember>();
  /** Resolves when the server confirms the first subscribe; rejects if it refuses. */
  readonly ready: Promise<void>;
  /** @internal */
  settle!: (error?: CallError) => void;

  constructor(
    readonly topic: string,
    readonly params: Readonly<Record<string, string>>,
    /** @internal */ readonly listener: (payload: T, position: Position) => void,
    /** @internal */ readonly options: SubscribeOptions,
    private readonly stop: (subscription: Subscription<T>) => void,
  ) {
    this.ready = new Promise((resolve, reject) => {
      this.settle = (error) => (error ? reject(error) : resolve());
    });
    // Nobody may await `ready`; an unobserved refusal is reported through onError instead.
    this.ready.catch(() => {});
  }

  /** Stops the subscription on both ends. */
  unsubscribe(): void {
    if (!this.active) return;
    this.active = false;
    this.stop(this);
  }
}
