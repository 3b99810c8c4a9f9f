import type { CollectionChange, CollectionSnapshot } from '../services/collection.js';

/**
 * The subscriber side of a collection topic: a Map kept in sync from a snapshot and the changes
 * that follow. As the agent-sandbox seed requires, a snapshot is additive: an empty or missing
 * snapshot never wipes what the subscriber already has; only deletes remove items.
 *
 * @example
 * const keys = new SyncedCollection<ApiKey>();
 * client.subscribe('keys.sync', {}, (change) => keys.apply(change), { onSnapshot: (s) => keys.merge(s) });
 */
export class SyncedCollection<V> {
  readonly items = new Map<string, V>();
  private readonly listeners = new Set<(items: ReadonlyMap<string, V>) => void>();

  /** Adds or replaces every item of the snapshot; keeps items the snapshot does not mention. */
  merge(snapshot: unknown): void {
    if (typeof snapshot !== 'object' || snapshot === null) return;
    const entries = Object.entries(snapshot as CollectionSnapshot<V>);
    if (!entries.length) return;
    for (const [key, value] of entries) this.items.set(key, value);
    this.changed();
  }

  apply(change: CollectionChange<V>): void {
    if (change.op === 'upsert') this.items.set(change.key, change.value);
    else this.items.delete(change.key);
    this.changed();
  }

  /** Calls `listener` after every change. Returns a function that stops it. */
  onChange(listener: (items: ReadonlyMap<string, V>) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(): void {
    for (const listener of this.listeners) listener(this.items);
  }
}
