import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { type Authenticator, type Principal, refuse } from './authenticator.js';

/** Bytes of the SHA-256 key hash that binary protocols send (the fetch_ml seed's `api_key_hash:16`). */
export const API_KEY_HASH_PREFIX_BYTES = 16;

interface StoredKey {
  readonly hash: Buffer;
  readonly principal: Principal;
}

/**
 * API keys kept only as SHA-256 hashes: a leaked store reveals no usable key.
 * Lookup is by the full hash (the key sent in a hello) or by its first 16 bytes (fetch_ml frames).
 */
export class ApiKeyStore {
  private readonly byHash = new Map<string, StoredKey>();
  private readonly byPrefix = new Map<string, StoredKey>();

  /** SHA-256 of a key, the only form in which keys are stored. */
  static hash(key: string): Buffer {
    return createHash('sha256').update(key, 'utf8').digest();
  }

  /** Makes a new random key for `principal`, stores its hash and returns the key: show it once, then forget it. */
  issue(principal: Principal, prefix = 'sb_'): string {
    const key = prefix + randomBytes(24).toString('base64url');
    this.addHash(ApiKeyStore.hash(key), principal);
    return key;
  }

  /** Stores a key's hash (hex or bytes), e.g. loaded from a database. */
  addHash(hash: Buffer | string, principal: Principal): void {
    const bytes = typeof hash === 'string' ? Buffer.from(hash, 'hex') : hash;
    if (bytes.length !== 32) throw new TypeError('an API key hash is a 32-byte SHA-256 digest');
    const entry = { hash: bytes, principal };
    this.byHash.set(bytes.toString('hex'), entry);
    this.byPrefix.set(bytes.subarray(0, API_KEY_HASH_PREFIX_BYTES).toString('hex'), entry);
  }

  /** Removes a key by its hash; its holder is refused from the next connection on. */
  revoke(hash: Buffer | string): boolean {
    // Hex in any case names the same digest; the map keys are Buffer's lower-case hex.
    const hex = typeof hash === 'string' ? hash.toLowerCase() : hash.toString('hex');
    const entry = this.byHash.get(hex);
    if (!entry) return false;
    this.byHash.delete(hex);
    this.byPrefix.delete(entry.hash.subarray(0, API_KEY_HASH_PREFIX_BYTES).toString('hex'));
    return true;
  }

  /** The principal of a plain key, or undefined. */
  verify(key: string): Principal | undefined {
    const hash = ApiKeyStore.hash(key);
    const entry = this.byHash.get(hash.toString('hex'));
    // The map lookup already matched; the constant-time compare guards against a future store
    // that finds entries by something weaker than the full digest.
    return entry && timingSafeEqual(entry.hash, hash) ? entry.principal : undefined;
  }

  /** The principal whose key hash starts with these 16 bytes, or undefined. */
  findByHashPrefix(prefix: Uint8Array): Principal | undefined {
    if (prefix.length !== API_KEY_HASH_PREFIX_BYTES) return undefined;
    return this.byPrefix.get(Buffer.from(prefix).toString('hex'))?.principal;
  }

  get size(): number {
    return this.byHash.size;
  }
}

export interface ApiKeysOptions {
  /**
   * Let a connection in without a key, as `anonymous` with no permissions, so that only calls carrying
   * a known key hash get anything done: for wires that authenticate every frame and have no hello
   * (fetch_ml). Off by default.
   */
  readonly keylessConnections?: boolean;
}

/**
 * Authenticates a hello carrying `credentials: { apiKey }` against a store of key hashes, and calls
 * carrying the first 16 bytes of a key's SHA-256 as their credential (binary wires such as fetch_ml).
 */
export function apiKeys(store: ApiKeyStore, options: ApiKeysOptions = {}): Authenticator {
  return {
    authenticate({ credentials }) {
      const key =
        typeof credentials === 'object' && credentials !== null
          ? (credentials as { apiKey?: unknown }).apiKey
          : undefined;
      if ((typeof key !== 'string' || !key) && options.keylessConnections)
        return { ok: true, principal: { id: 'anonymous', permissions: [] } };
      if (typeof key !== 'string' || !key) return refuse('no API key');
      const principal = store.verify(key);
      return principal ? { ok: true, principal } : refuse('unknown API key');
    },
    authenticateCall(credential) {
      if (!(credential instanceof Uint8Array) || credential.length !== API_KEY_HASH_PREFIX_BYTES) {
        return { ok: false, reason: `a key hash is ${API_KEY_HASH_PREFIX_BYTES} bytes` };
      }
      const principal = store.findByHashPrefix(credential);
      return principal ? { ok: true, principal } : { ok: false, reason: 'unknown API key hash' };
    },
  };
}
