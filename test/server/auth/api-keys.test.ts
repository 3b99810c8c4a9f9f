import { createHash } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { API_KEY_HASH_PREFIX_BYTES, ApiKeyStore, apiKeys } from '../../../src/server/auth/api-keys.js';
import type { UpgradeRequest } from '../../../src/transport/socket.js';

const sha256 = (key: string) => createHash('sha256').update(key, 'utf8').digest();
const request: UpgradeRequest = { url: '/', headers: {}, remoteAddress: 'memory' };

/** Every string and byte array reachable from `root` through fields, arrays and maps (keys included). */
function leaves(root: unknown): { strings: string[]; bytes: Uint8Array[] } {
  const strings: string[] = [];
  const bytes: Uint8Array[] = [];
  const seen = new Set<unknown>();
  const visit = (value: unknown): void => {
    if (typeof value === 'string') strings.push(value);
    if (typeof value !== 'object' || value === null || seen.has(value)) return;
    seen.add(value);
    if (value instanceof Uint8Array) {
      bytes.push(value);
      return;
    }
    if (value instanceof Map) {
      for (const [key, entry] of value) {
        visit(key);
        visit(entry);
      }
    }
    for (const name of Object.getOwnPropertyNames(value)) visit((value as Record<string, unknown>)[name]);
  };
  visit(root);
  return { strings, bytes };
}

describe('ApiKeyStore', () => {
  test('issues a prefixed random key that verifies to its principal', () => {
    const store = new ApiKeyStore();
    const principal = { id: 'ci', permissions: ['jobs:read'] };
    const key = store.issue(principal);
    expect(key).toMatch(/^sb_[A-Za-z0-9_-]{32}$/);
    expect(store.verify(key)).toBe(principal);
    expect(store.size).toBe(1);
  });

  test('issues keys with a custom prefix, each one different', () => {
    const store = new ApiKeyStore();
    const a = store.issue({ id: 'a', permissions: [] }, 'live_');
    const b = store.issue({ id: 'b', permissions: [] }, 'live_');
    expect(a).toMatch(/^live_[A-Za-z0-9_-]{32}$/);
    expect(a).not.toBe(b);
    expect([store.verify(a)?.id, store.verify(b)?.id]).toEqual(['a', 'b']);
  });

  test('refuses a key that differs by one character, or is empty', () => {
    const store = new ApiKeyStore();
    const key = store.issue({ id: 'ci', permissions: [] });
    const last = key.at(-1) === 'A' ? 'B' : 'A';
    expect(store.verify(`${key.slice(0, -1)}${last}`)).toBeUndefined();
    expect(store.verify(`${key}!`)).toBeUndefined();
    expect(store.verify(key.slice(3))).toBeUndefined();
    expect(store.verify('')).toBeUndefined();
  });

  test('holds only the 32-byte SHA-256 of a key: the plain key appears in none of its fields', () => {
    const store = new ApiKeyStore();
    const key = store.issue({ id: 'ci', permissions: ['jobs:read'] });
    const digest = sha256(key);
    const { strings, bytes } = leaves(store);

    for (const text of strings) {
      expect(text).not.toContain(key);
      expect(text).not.toContain(key.slice(3)); // the random part alone
    }
    // The only bytes kept are the digest, and the only strings are its hex forms and the principal.
    expect(bytes.length).toBeGreaterThan(0);
    for (const held of bytes) {
      expect(held.byteLength).toBe(32);
      expect(Buffer.from(held).equals(digest)).toBe(true);
      expect(Buffer.from(held).includes(Buffer.from(key))).toBe(false);
    }
    expect(new Set(strings)).toEqual(
      new Set([digest.toString('hex'), digest.subarray(0, 16).toString('hex'), 'ci', 'jobs:read']),
    );
  });

  test('ApiKeyStore.hash is SHA-256 of the key as UTF-8', () => {
    expect(ApiKeyStore.hash('plain-key').equals(sha256('plain-key'))).toBe(true);
    expect(ApiKeyStore.hash('clé').toString('hex')).toBe(sha256('clé').toString('hex'));
  });

  test('finds a principal by the first 16 bytes of sha256(key), as fetch_ml frames carry it', () => {
    expect(API_KEY_HASH_PREFIX_BYTES).toBe(16);
    const store = new ApiKeyStore();
    const principal = { id: 'worker', permissions: [] };
    const key = store.issue(principal);
    const prefix = sha256(key).subarray(0, 16);
    expect(store.findByHashPrefix(prefix)).toBe(principal);
    expect(store.findByHashPrefix(new Uint8Array(prefix))).toBe(principal);
    expect(store.findByHashPrefix(new Uint8Array(16))).toBeUndefined();
  });

  test.each([0, 15, 17, 32])('finds nothing by a prefix of %i bytes', (length) => {
    const store = new ApiKeyStore();
    const key = store.issue({ id: 'worker', permissions: [] });
    expect(store.findByHashPrefix(sha256(key).subarray(0, length))).toBeUndefined();
  });

  test('accepts a stored hash as hex or bytes, and refuses one that is not 32 bytes', () => {
    const store = new ApiKeyStore();
    store.addHash(sha256('hex-key').toString('hex'), { id: 'hex', permissions: [] });
    store.addHash(sha256('bytes-key'), { id: 'bytes', permissions: [] });
    expect([store.verify('hex-key')?.id, store.verify('bytes-key')?.id]).toEqual(['hex', 'bytes']);
    for (const bad of ['abcd', sha256('x').subarray(0, 31), Buffer.alloc(33), '']) {
      expect(() => store.addHash(bad, { id: 'x', permissions: [] })).toThrow(
        new TypeError('an API key hash is a 32-byte SHA-256 digest'),
      );
    }
    expect(store.size).toBe(2);
  });

  test('revokes by hex hash: the key, and its prefix, no longer find anyone', () => {
    const store = new ApiKeyStore();
    const key = store.issue({ id: 'gone', permissions: [] });
    const digest = sha256(key);
    expect(store.revoke(digest.toString('hex'))).toBe(true);
    expect(store.verify(key)).toBeUndefined();
    expect(store.findByHashPrefix(digest.subarray(0, 16))).toBeUndefined();
    expect(store.size).toBe(0);
    expect(store.revoke(digest.toString('hex'))).toBe(false);
  });

  test('revokes by hash bytes, leaving other keys valid', () => {
    const store = new ApiKeyStore();
    const gone = store.issue({ id: 'gone', permissions: [] });
    const kept = store.issue({ id: 'kept', permissions: [] });
    expect(store.revoke(sha256(gone))).toBe(true);
    expect([store.verify(gone), store.verify(kept)?.id]).toEqual([undefined, 'kept']);
    expect(store.findByHashPrefix(sha256(kept).subarray(0, 16))?.id).toBe('kept');
    expect(store.size).toBe(1);
  });

  test('revoke of an unknown hash returns false and changes nothing', () => {
    const store = new ApiKeyStore();
    const key = store.issue({ id: 'ci', permissions: [] });
    expect(store.revoke(sha256('other'))).toBe(false);
    expect(store.verify(key)?.id).toBe('ci');
  });

  test('revokes a key by the same upper-case hex it was added with', () => {
    const store = new ApiKeyStore();
    const hex = sha256('legacy-key').toString('hex').toUpperCase();
    store.addHash(hex, { id: 'legacy', permissions: [] });
    expect(store.verify('legacy-key')?.id).toBe('legacy');
    expect(store.revoke(hex)).toBe(true);
    expect(store.verify('legacy-key')).toBeUndefined();
  });
});

describe('apiKeys authenticator', () => {
  test('accepts a hello whose credentials carry a known apiKey', async () => {
    const store = new ApiKeyStore();
    const principal = { id: 'ci', permissions: ['*'] };
    const key = store.issue(principal);
    expect(await apiKeys(store).authenticate({ credentials: { apiKey: key }, request })).toEqual({
      ok: true,
      principal,
    });
  });

  test('refuses an unknown key with "unknown API key"', async () => {
    const auth = apiKeys(new ApiKeyStore());
    expect(await auth.authenticate({ credentials: { apiKey: 'sb_nope' }, request })).toEqual({
      ok: false,
      reason: 'unknown API key',
    });
  });

  // Kills the mutation "an API key accepted with a trailing space" (a trim before the lookup, in
  // the store or the authenticator): a key is its exact bytes, padded copies are other keys.
  test.each([' ', '\t', '\n', '\u00a0'])(
    'refuses a known key padded with %j, before or after it',
    async (pad) => {
      const store = new ApiKeyStore();
      const key = store.issue({ id: 'ci', permissions: ['*'] });
      const auth = apiKeys(store);
      for (const padded of [`${key}${pad}`, `${pad}${key}`]) {
        expect(store.verify(padded)).toBeUndefined();
        expect(await auth.authenticate({ credentials: { apiKey: padded }, request })).toEqual({
          ok: false,
          reason: 'unknown API key',
        });
      }
      expect(store.verify(key)).toEqual({ id: 'ci', permissions: ['*'] });
    },
  );

  test.each([undefined, null, 'sb_x', {}, { apiKey: '' }, { apiKey: 42 }])(
    'refuses credentials %j with "no API key"',
    async (credentials) => {
      const auth = apiKeys(new ApiKeyStore());
      expect(await auth.authenticate({ credentials, request })).toEqual({ ok: false, reason: 'no API key' });
    },
  );
});

describe('apiKeys with keylessConnections', () => {
  const request = { url: '/', headers: {} };
  test('lets a connection without a key in as anonymous with no permissions; a key is still checked', async () => {
    const store = new ApiKeyStore();
    const key = store.issue({ id: 'ada', permissions: ['*'] });
    const keyless = apiKeys(store, { keylessConnections: true });
    expect(await keyless.authenticate({ credentials: undefined, request })).toEqual({
      ok: true,
      principal: { id: 'anonymous', permissions: [] },
    });
    expect(await keyless.authenticate({ credentials: { apiKey: key }, request })).toEqual({
      ok: true,
      principal: { id: 'ada', permissions: ['*'] },
    });
    expect(await keyless.authenticate({ credentials: { apiKey: 'sb_wrong' }, request })).toEqual({
      ok: false,
      reason: 'unknown API key',
    });
    expect(await apiKeys(store).authenticate({ credentials: undefined, request })).toEqual({
      ok: false,
      reason: 'no API key',
    });
  });
});
