import type { UpgradeRequest } from '../../transport/socket.js';
import { type Authenticator, type Principal, refuse } from './authenticator.js';

export interface BearerOptions {
  /** Resolves a token to its principal, or undefined when it is not valid. */
  verify(token: string, request: UpgradeRequest): Principal | undefined | Promise<Principal | undefined>;
  /**
   * Also read `?token=` from the upgrade URL. Off by default: URLs end up in access logs.
   * Browsers cannot set headers on a WebSocket, so they send the token in the hello instead.
   */
  readonly allowQueryToken?: boolean;
}

/**
 * Bearer tokens, from the hello (`credentials: { token }`), the upgrade request's
 * `Authorization: Bearer …` header, or (opt-in) the `token` query parameter, in that order.
 */
export function bearerToken(options: BearerOptions): Authenticator {
  return {
    async authenticate({ credentials, request }) {
      const token = tokenFrom(credentials, request, options.allowQueryToken ?? false);
      if (!token) return refuse('no bearer token');
      const principal = await options.verify(token, request);
      return principal ? { ok: true, principal } : refuse('invalid token');
    },
  };
}

function tokenFrom(credentials: unknown, request: UpgradeRequest, allowQuery: boolean): string | undefined {
  if (typeof credentials === 'object' && credentials !== null) {
    const token = (credentials as { token?: unknown }).token;
    if (typeof token === 'string' && token) return token;
  }
  const header = request.headers.authorization;
  const value = Array.isArray(header) ? header[0] : header;
  if (value?.startsWith('Bearer ')) return value.slice('Bearer '.length).trim() || undefined;
  if (allowQuery) return new URL(request.url, 'ws://local').searchParams.get('token') ?? undefined;
  return undefined;
}
