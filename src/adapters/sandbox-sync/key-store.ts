import { createHash, randomBytes } from 'node:crypto';
import { SyncedCollection } from '../../client/synced-collection.js';
import { KEY_NAME_PREFIX } from '../../wire/sandbox-sync/index.js';
import { formatRfc3339, type KeyMetadata, keyIdOf, type NewKey, ROLE_TENANT } from './api-key.js';

type MaybePromise<T> = T | Promise<T>;

/** Where a Worker keeps the keys the ws-proxy pushes (the origin's Kubernetes Secrets). */
export interface WorkerKeyStore {
  /** Stores a key under `agentbox-apikey-<hashPrefix>`; storing the same key again changes nothing. */
  createFromHash(meta: NewKey, tokenHash: string, hashPrefix: string): MaybePromise<void>;
  /** Deletes a key by secret name; resolves false when there was none. */
  delete(name: string): MaybePromise<boolean>;
}

/** Where the ws-proxy keeps the master copy of every key. */
export interface ProxyKeyStore extends WorkerKeyStore {
  list(): MaybePromise<readonly KeyMetadata[]>;
  /** Makes a new token; only its hash is kept for lookups. */
  create(meta: NewKey): MaybePromise<{ rawToken: string; keyId: string }>;
  get(keyId: string): MaybePromise<KeyMetadata | undefined>;
  countUserKeys(namespace: string, user: string): MaybePromise<number>;
}

/** The prefix of generated tokens, from the origin's key store. */
export const TOKEN_PREFIX = 'agbx_';

/** Hex SHA-256 of a raw token: what a key store keeps instead of the token. */
export function tokenHash(rawToken: string): string {
  return createHash('sha256').update(rawToken).digest('hex');
}

/**
 * Keys in memory, for either end. It keeps them in a `SyncedCollection` keyed by secret name, the
 * core's snapshot-then-sync state: `items` is the current set and `onChange` reports every change.
 */
export class MemoryKeyStore implements ProxyKeyStore {
  readonly keys = new SyncedCollection<KeyMetadata>();

  createFromHash(meta: NewKey, tokenHash: string, hashPrefix: string): void {
    const keyId = keyIdOf(hashPrefix);
    const existing = this.keys.items.get(keyId);
    const next: KeyMetadata = { ...meta, keyId, tokenHash, role: meta.role || ROLE_TENANT };
    // Idempotent: re-applying the same key (a snapshot after a key_sync) fires no change.
    if (existing && JSON.stringify(existing) === JSON.stringify(next)) return;
    this.keys.apply({ op: 'upsert', key: keyId, value: next });
  }

  delete(name: string): boolean {
    const keyId = name.slice(name.lastIndexOf('/') + 1);
    if (!this.keys.items.has(keyId)) return false;
    this.keys.apply({ op: 'delete', key: keyId });
    return true;
  }

  list(): KeyMetadata[] {
    return [...this.keys.items.values()].sort((a, b) => (a.keyId < b.keyId ? -1 : a.keyId > b.keyId ? 1 : 0));
  }

  create(meta: NewKey): { rawToken: string; keyId: string } {
    const rawToken = TOKEN_PREFIX + randomBytes(32).toString('hex');
    const hash = tokenHash(rawToken);
    // The first 16 hex characters name the secret, as in the origin.
    const hashPrefix = hash.slice(0, 16);
    this.createFromHash(
      { ...meta, issuedAt: meta.issuedAt ?? formatRfc3339(new Date()), rawToken },
      hash,
      hashPrefix,
    );
    return { rawToken, keyId: KEY_NAME_PREFIX + hashPrefix };
  }

  get(keyId: string): KeyMetadata | undefined {
    return this.keys.items.get(keyId.slice(keyId.lastIndexOf('/') + 1));
  }

  countUserKeys(namespace: string, user: string): number {
    let count = 0;
    for (const key of this.keys.items.values()) if (key.namespace === namespace && key.user === user) count++;
    return count;
  }
}
