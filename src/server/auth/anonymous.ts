import type { Authenticator } from './authenticator.js';

/** The principal id `anonymous()` gives everyone. Not one user: per-principal connection limits skip it. */
export const ANONYMOUS_ID = 'anonymous';

/**
 * Lets everyone in as `anonymous` with the given permissions. The default when a server
 * names no authenticator, with no permissions, so only commands that require none can run.
 */
export function anonymous(permissions: readonly string[] = []): Authenticator {
  return { authenticate: () => ({ ok: true, principal: { id: ANONYMOUS_ID, permissions } }) };
}
