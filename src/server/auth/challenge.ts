import type { Authenticator, AuthOutcome, AuthRequest, Principal } from './authenticator.js';
import { refuse } from './authenticator.js';

export interface ChallengeResponseOptions<State> {
  /**
   * Reads the hello's credentials (e.g. a public key) and issues a challenge (e.g. a fresh nonce).
   * `state` stays on the server for `verify`; only `challenge` is sent.
   */
  issue(
    request: AuthRequest,
  ):
    | { challenge: unknown; state: State }
    | { refuse: string }
    | Promise<{ challenge: unknown; state: State } | { refuse: string }>;
  /** Checks the client's response against the state; the principal on success. */
  verify(state: State, response: unknown): Principal | undefined | Promise<Principal | undefined>;
}

/**
 * A challenge–response handshake like the Hemi seed's: hello → challenge → response → welcome.
 * Nothing secret crosses the wire; the client proves it holds a key by answering a fresh challenge.
 */
export function challengeResponse<State>(options: ChallengeResponseOptions<State>): Authenticator {
  return {
    async authenticate(request): Promise<AuthOutcome> {
      const issued = await options.issue(request);
      if ('refuse' in issued) return refuse(issued.refuse);
      return {
        ok: 'challenge',
        challenge: issued.challenge,
        async verify(response) {
          const principal = await options.verify(issued.state, response);
          return principal ? { ok: true, principal } : refuse('challenge response rejected');
        },
      };
    },
  };
}
