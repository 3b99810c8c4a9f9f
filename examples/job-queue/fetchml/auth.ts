// How fetch_ml connections authenticate: the key hash in every frame, checked per call; the
// connection itself needs no key (fetch_ml has no hello), but may name one at the upgrade.
import { type ApiKeyStore, type Authenticator, apiKeys } from 'switchboard/server';

/**
 * Per-call API key hashes against `store` (what `apiKeys` does for 16-byte credentials). The upgrade
 * is accepted without a key: such a connection is `anonymous` with no permissions, so every frame must
 * carry a known key hash. An `Authorization: Bearer <api key>` header at the upgrade (ours) names the
 * connection's user instead, so job status packets for that user's jobs reach it.
 */
export function fetchmlAuth(store: ApiKeyStore): Authenticator {
  const keys = apiKeys(store);
  return {
    authenticate({ request }) {
      const header = request.headers.authorization;
      const value = Array.isArray(header) ? header[0] : header;
      if (value?.startsWith('Bearer ')) {
        const principal = store.verify(value.slice('Bearer '.length).trim());
        return principal ? { ok: true, principal } : { ok: false, reason: 'unknown API key' };
      }
      return { ok: true, principal: { id: 'anonymous', permissions: [] } };
    },
    authenticateCall: keys.authenticateCall!.bind(keys),
  };
}
