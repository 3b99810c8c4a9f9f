import type { UpgradeRequest } from '../../transport/socket.js';

/** Who is on the other end of a connection, and what they may do. */
export interface Principal {
  /** The user (or service) id; `pushToUser` reaches every connection with this id. */
  readonly id: string;
  /** Permission strings such as `jobs:create`; `jobs:*` and `*` are wildcards. */
  readonly permissions: readonly string[];
  /** When the credentials stop being valid (ms since epoch): the session ends then with 4103. */
  readonly expiresAt?: number;
  /** Anything else handlers should know about the caller (name, tenant...). Not sent to the client. */
  readonly attributes?: Readonly<Record<string, unknown>>;
}

/** What an authenticator gets: the hello's credentials and the HTTP upgrade request. */
export interface AuthRequest {
  readonly credentials: unknown;
  readonly request: UpgradeRequest;
}

/** Accepts, refuses, or answers with a challenge whose response is checked by `verify`. */
export type AuthOutcome =
  | { readonly ok: true; readonly principal: Principal }
  | {
      readonly ok: false;
      readonly reason: string;
      /** The close code to refuse with, where a wire's clients expect their own; default 4100. */
      readonly closeCode?: number;
    }
  | {
      readonly ok: 'challenge';
      readonly challenge: unknown;
      verify(response: unknown): AuthOutcome | Promise<AuthOutcome>;
    };

/**
 * Runs once per connection, at the handshake. A thrown error counts as a refusal whose reason is
 * not shown to the client (it may hold internals); it is logged with a trace id.
 */
export interface Authenticator {
  authenticate(request: AuthRequest): AuthOutcome | Promise<AuthOutcome>;
  /**
   * For wire formats that carry a credential on every call (fetch_ml's key hash): who makes this
   * call. The call runs with the returned principal; a refusal answers it with UNAUTHENTICATED.
   * Without this method, a call carrying a credential is refused.
   */
  authenticateCall?(credential: unknown, connection: Principal): CallAuthOutcome | Promise<CallAuthOutcome>;
}

/** Who makes one call, or why nobody does. */
export type CallAuthOutcome =
  | { readonly ok: true; readonly principal: Principal }
  | { readonly ok: false; readonly reason: string };

export const accept = (principal: Principal): AuthOutcome => ({ ok: true, principal });
export const refuse = (reason: string, closeCode?: number): AuthOutcome =>
  closeCode === undefined ? { ok: false, reason } : { ok: false, reason, closeCode };
