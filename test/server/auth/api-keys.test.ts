import { createHash } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { ApiKeyStore } from '../../../src/server/auth/api-keys.js';

describe('ApiKeyStore', () => {
  test('verifies an issued key and keeps only its SHA-256 hash', () => {
    const store = new ApiKeyStore();
    const key = store.issue({ id: 'ci', permissions: ['jobs:read'] });
    expect(key).toMatch(/^sb_[A-Za-z0-9_-]{32}$/);
    expect(store.verify(key)).toEqual({ id: 'ci', permissions: ['jobs:read'] });
    expect(store.verify(`${key}!`)).toBeUndefined();
    const dump = JSON.stringify(store, (_k, v) => (v instanceof Map ? [...v.entries()] : v));
    expect(dump).not.toContain(key);
    expect(dump).not.toContain(key.slice(3));
  });

  test('finds a principal by the first 16 bytes of the key hash, as fetch_ml frames carry it', () => {
    const store = new ApiKeyStore();
    const key = store.issue({ id: 'worker', permissions: [] });
    const hash = createHash('sha256').update(key).digest();
    expect(store.findByHashPrefix(hash.subarray(0, 16))?.id).toBe('worker');
    expect(store.findByHashPrefix(hash.subarray(0, 15))).toBeUndefined();
    expect(store.findByHashPrefix(new Uint8Array(16))).toBeUndefined();
  });

  test('accepts stored hashes and revokes them', () => {
    const store = new ApiKeyStore();
    const hash = ApiKeyStore.hash('plain-key').toString('hex');
    store.addHash(hash, { id: 'legacy', permissions: ['*'] });
    expect(store.verify('plain-key')?.id).toBe('legacy');
    expect(store.revoke(hash)).toBe(true);
    expect(store.verify('plain-key')).toBeUndefined();
    expect(store.revoke(hash)).toBe(false);
    expect(() => store.addHash('abcd', { id: 'x', permissions: [] })).toThrow(
      'an API key hash is a 32-byte SHA-256 digest',
    );
  });
});
