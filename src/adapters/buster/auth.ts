import { errors, type JWTPayload, jwtVerify } from 'jose';
import type { UpgradeRefusal, UpgradeRequest } from '../../transport/socket.js';

/** The audiences Buster accepts: `authenticated` (a user session) and `api` (an API key's token). */
export const JWT_AUDIENCES = ['authenticated', 'api'] as const;

/** The close code Buster announces in `Sec-WebSocket-Close-Code` when it refuses an upgrade. */
export const UNAUTHORIZED_CLOSE_CODE = 4001;

/** Who is connected: `sent_by` is `{ id, name }`; permissions gate routes like any Switchboard command. */
export interface BusterUser {
  readonly id: string;
  /** The user's name or email, as Buster's `sent_by.name`. */
  readonly name: string;
  readonly permissions: readonly string[];
}

export interface JwtAuthOptions {
  /** The HS256 secret (Buster's `JWT_SECRET`). */
  readonly secret: string | Uint8Array;
  /**
   * Turns verified claims into a user, or undefined to refuse (Buster looks the user up by `sub`,
   * or the API key for aud `api`). Default (ours): id = `sub`, name = `name` ?? `email` ?? `sub`,
   * permissions = the `permissions` claim when it is a list of strings, else none.
   */
  readonly resolveUser?: (claims: JWTPayload) => BusterUser | undefined | Promise<BusterUser | undefined>;
}

/** Why an upgrade was refused; the message goes into `Sec-WebSocket-Close-Reason`. */
export const AUTH_FAILURES = {
  /** No `Authorization` header and no `authentication` query parameter. */
  MISSING: 'Missing authentication token',
  /** Bad signature, wrong algorithm or audience, expired, or not a JWT at all. */
  INVALID: 'Invalid authentication token',
  /** The token verified but names no user `resolveUser` knows. */
  UNKNOWN_USER: 'User not found',
} as const;

export type AuthResult =
  | { readonly ok: true; readonly user: BusterUser }
  | { readonly ok: false; readonly reason: string };

/**
 * The token of an upgrade request, as Buster's auth middleware reads it: the `Authorization`
 * header (`Bearer <jwt>`, or the bare value), else the `authentication` query parameter.
 */
export function tokenFromRequest(request: UpgradeRequest): string | undefined {
  const header = request.headers.authorization;
  const raw = Array.isArray(header) ? header[0] : header;
  if (raw?.startsWith('Bearer ')) return raw.slice('Bearer '.length).trim() || undefined;
  if (raw?.trim()) return raw.trim();
  let query: string | null;
  try {
    query = new URL(request.url, 'ws://local').searchParams.get('authentication');
  } catch {
    // An unparsable request URL carries no token.
    query = null;
  }
  return query || undefined;
}

/** Verifies an upgrade request's JWT (HS256, aud ∈ {authenticated, api}) and resolves its user. Never throws. */
export async function authenticateUpgrade(
  request: UpgradeRequest,
  options: JwtAuthOptions,
): Promise<AuthResult> {
  const token = tokenFromRequest(request);
  if (!token) return { ok: false, reason: AUTH_FAILURES.MISSING };
  const key = typeof options.secret === 'string' ? new TextEncoder().encode(options.secret) : options.secret;
  let claims: JWTPayload;
  try {
    ({ payload: claims } = await jwtVerify(token, key, {
      algorithms: ['HS256'],
      audience: [...JWT_AUDIENCES],
    }));
  } catch (error) {
    if (error instanceof errors.JOSEError) return { ok: false, reason: AUTH_FAILURES.INVALID };
    throw error;
  }
  const user = await (options.resolveUser ?? defaultUser)(claims);
  return user ? { ok: true, user } : { ok: false, reason: AUTH_FAILURES.UNKNOWN_USER };
}

/**
 * Buster's answer to a refused WebSocket upgrade: HTTP 401 with `Sec-WebSocket-Protocol: close`,
 * `Sec-WebSocket-Close-Code: 4001` and `Sec-WebSocket-Close-Reason: <reason>`.
 */
export function unauthorized(reason: string): UpgradeRefusal {
  return {
    status: 401,
    body: reason,
    headers: {
      'Sec-WebSocket-Protocol': 'close',
      'Sec-WebSocket-Close-Code': String(UNAUTHORIZED_CLOSE_CODE),
      'Sec-WebSocket-Close-Reason': reason,
    },
  };
}

function defaultUser(claims: JWTPayload): BusterUser | undefined {
  if (typeof claims.sub !== 'string' || !claims.sub) return undefined;
  const name =
    typeof claims.name === 'string'
      ? claims.name
      : typeof claims.email === 'string'
        ? claims.email
        : claims.sub;
  const permissions =
    Array.isArray(claims.permissions) && claims.permissions.every((p) => typeof p === 'string')
      ? (claims.permissions as string[])
      : [];
  return { id: claims.sub, name, permissions };
}
