import { z } from 'zod';
import { topic } from '../protocol/define.js';

/** What a collection topic carries: one change, applied in order. Deletes and upserts are idempotent. */
export type CollectionChange<V> =
  | { readonly op: 'upsert'; readonly key: string; readonly value: V }
  | { readonly op: 'delete'; readonly key: string };

/** The snapshot of a collection: its items by key. */
export type CollectionSnapshot<V> = Readonly<Record<string, V>>;

/**
 * Declares a keyed collection as a topic: subscribers get a snapshot, then upserts and deletes in
 * order (the agent-sandbox seed's key/template sync). Pass the store that answers snapshots.
 *
 * @example
 * const keys = new CollectionStore<ApiKey>();
 * resources: { keys: { topics: { sync: collectionTopic({ pattern: 'keys', value: ApiKey, store: keys }) } } }
 */
export function collectionTopic<V extends z.ZodType, const Pattern extends string>(def: {
  pattern: Pattern;
  value: V;
  store: CollectionStore<z.input<V>>;
  subscribe?: Parameters<typeof topic>[0]['subscribe'];
}) {
  const payload = z.discriminatedUnion('op', [
    z.object({ op: z.literal('upsert'), key: z.string(), value: def.value }),
    z.object({ op: z.literal('delete'), key: z.string() }),
  ]);
  return topic({
    pattern: def.pattern,
    payload,
    ...(def.subscribe ? { subscribe: def.subscribe } : {}),
    snapshot: (params) => def.store.snapshot(params),
  });
}

/**
 * The server side of collections: the current items per topic key. Change it through
 * `server.publish(topic, params, change)` after `apply`, or with `sync`, which does both.
 */
export class CollectionStore<V> {
  private readonly byKey = new Map<string, Map<string, V>>();

  /** Applies a change to the items behind `params`. */
  apply(params: Readonly<Record<string, string>>, change: CollectionChange<V>): void {
    const items = this.items(params);
    if (change.op === 'upsert') items.set(change.key, change.value);
    else items.delete(change.key);
  }

  snapshot(params: Readonly<Record<string, string>>): CollectionSnapshot<V> {
    return Object.fromEntries(this.items(params));
  }

  private items(params: Readonly<Record<string, string>>): Map<string, V> {
    const id = JSON.stringify(Object.entries(params).sort());
    let items = this.byKey.get(id);
    if (!items) {
      items = new Map();
      this.byKey.set(id, items);
    }
    return items;
  }
}
