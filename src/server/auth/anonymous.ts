import type { Authenticator } from './authenticator.js';

/**
 * Lets everyone in as `anonymous` with the given permissions. The default when a server
 * names no authenticator, with no permissions, so only commands that require none can run.
 */
export function anonymous(permissions: readonly string[] = []): Authenticator {
  return { authenticate: () => ({ ok: true, principal: { id: 'anonymous', permissions } }) };
}
