import {
  type Broker,
  BrokerError,
  type History,
  type HistoryQuery,
  type Member,
  type Position,
  type PresenceChange,
  type Publication,
} from '../broker/broker.js';
import type { IdempotencyStore } from '../broker/idempotency.js';

interface Followed {
  readonly listeners: Set<(publication: Publication) => void>;
  last?: Position;
  stop?: () => Promise<void>;
}

/**
 * One node's view of a shared broker, which a test can cut off: `partition()` makes publishes and
 * reads fail with BrokerError (as an unreachable Redis does) and drops the live publications this
 * node would have received; `heal()` reconnects and catches up from history, as the Redis broker does
 * after a reconnect. Give each server node its own FaultyBroker over the same inner broker.
 *
 * @example
 * const shared = new MemoryBroker();
 * const a = new FaultyBroker(shared), b = new FaultyBroker(shared);
 * a.partition(); // node a loses its broker; node b carries on
 */
export class FaultyBroker implements Broker {
  private partitioned = false;
  /** Per key followed through this node: its listeners and the last position they were given. */
  private readonly followed = new Map<string, Followed>();

  constructor(
    readonly inner: Broker,
    /** Catch up from history after `heal()` (what a correct broker does). Off reproduces a lossy one. */
    private readonly catchUpOnHeal = true,
  ) {}

  get distributed(): boolean | undefined {
    return this.inner.distributed;
  }

  get idempotency(): IdempotencyStore | undefined {
    return this.inner.idempotency;
  }

  get isPartitioned(): boolean {
    return this.partitioned;
  }

  partition(): void {
    this.partitioned = true;
  }

  /** Reconnects; resolves once every followed key has caught up on what it missed. */
  async heal(): Promise<void> {
    this.partitioned = false;
    if (!this.catchUpOnHeal) return;
    for (const [key, state] of this.followed) {
      const history = await this.inner.history(key, { after: state.last?.offset ?? 0 });
      for (const publication of history.publications) this.forward(state, publication);
    }
  }

  async publish(key: string, payload: unknown): Promise<Publication> {
    this.check();
    return this.inner.publish(key, payload);
  }

  async history(key: string, query: HistoryQuery): Promise<History> {
    this.check();
    return this.inner.history(key, query);
  }

  async subscribe(key: string, listener: (publication: Publication) => void): Promise<() => Promise<void>> {
    this.check();
    let state = this.followed.get(key);
    if (!state) {
      const created: Followed = { listeners: new Set() };
      state = created;
      this.followed.set(key, created);
      created.stop = await this.inner.subscribe(key, (publication) => {
        // Lost on the way: a partitioned node hears nothing.
        if (!this.partitioned) this.forward(created, publication);
      });
    }
    const current = state;
    current.listeners.add(listener);
    return async () => {
      current.listeners.delete(listener);
      if (current.listeners.size > 0 || this.followed.get(key) !== current) return;
      this.followed.delete(key);
      await current.stop?.();
    };
  }

  async join(key: string, member: Member, ttlMs: number): Promise<void> {
    this.check();
    return this.inner.join(key, member, ttlMs);
  }

  async leave(key: string, connectionId: string): Promise<void> {
    this.check();
    return this.inner.leave(key, connectionId);
  }

  async members(key: string): Promise<Member[]> {
    this.check();
    return this.inner.members(key);
  }

  async onPresence(key: string, listener: (change: PresenceChange) => void): Promise<() => Promise<void>> {
    this.check();
    return this.inner.onPresence(key, (change) => {
      if (!this.partitioned) listener(change);
    });
  }

  /** Closes this node's view only: the shared inner broker stays up for the other nodes. */
  async close(): Promise<void> {
    for (const state of this.followed.values()) await state.stop?.();
    this.followed.clear();
  }

  private forward(state: Followed, publication: Publication) {
    const last = state.last;
    if (last && last.epoch === publication.epoch && publication.offset <= last.offset) return;
    state.last = { epoch: publication.epoch, offset: publication.offset };
    for (const listener of state.listeners) listener(publication);
  }

  private check(): void {
    if (this.partitioned) throw new BrokerError('partitioned from the broker (test fault)');
  }
}
