// Types only: the wire never loads the server.
import type { Authenticator, Principal } from '../../server/auth/authenticator.js';
import type { UpgradeRequest } from '../../transport/socket.js';
import { govalToken } from './token.js';

/** Why a goval connection was refused (the server closes with 1008, which crosis answers by refetching its token). */
export const GOVAL_AUTH_REASONS = {
  noToken: 'no token in the URL path (/wsv2/<token>)',
  invalidToken: 'invalid token',
} as const;

/**
 * Authenticates goval connections by the token in their URL path (`/wsv2/<token>`). `verify` gets the
 * token (a PASETO in Replit's deployment; anything you issue in yours) and returns its principal.
 *
 * @example govalTokenAuth((token) => (token === secret ? { id: 'alice', permissions: ['*'] } : undefined))
 */
export function govalTokenAuth(
  verify: (token: string, request: UpgradeRequest) => Principal | undefined | Promise<Principal | undefined>,
): Authenticator {
  return {
    async authenticate({ request }) {
      const token = govalToken(request);
      if (token === undefined) return { ok: false, reason: GOVAL_AUTH_REASONS.noToken };
      const principal = await verify(token, request);
      return principal === undefined
        ? { ok: false, reason: GOVAL_AUTH_REASONS.invalidToken }
        : { ok: true, principal };
    },
  };
}
