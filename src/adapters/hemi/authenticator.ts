import { bytesToHex } from '@noble/hashes/utils.js';
import { CLOSE_CODES } from '../../protocol/close-codes.js';
import type { Authenticator, AuthOutcome, Principal } from '../../server/auth/authenticator.js';
import { refuse } from '../../server/auth/authenticator.js';
import { isObject } from '../../wire/hemi/message.js';
import type { HemiChallenge } from '../../wire/hemi/wire.js';
import { challengeHash, challengeMessage } from './challenge.js';
import { bytesFromHex, compressedPublicKey, recoverCompact } from './signature.js';

/**
 * Why a secp256k1 handshake was refused: the reason of the 4100 close. `invalidPublicKey` is Hemi's
 * own (`ErrPublicKeyAuth`); the others are ours, where Hemi closes with 1000 and no reason.
 */
export const SECP256K1_REFUSALS = {
  /** The signer is not in the allow-list (bfg's access list). */
  invalidPublicKey: 'invalid public key',
  /** The hello's key is not a secp256k1 point in hex. */
  malformedPublicKey: 'malformed public key',
  /** The signature is not 65 bytes of hex, or recovers no key. */
  malformedSignature: 'malformed signature',
  /** The signature recovers another key than the hello's. */
  notTheSameSigner: 'not the same signer',
} as const;

/** Decides whether a proven key may connect, and as whom. */
export type Secp256k1Allow =
  | Iterable<string>
  | ((
      publicKey: string,
      userAgent: string | undefined,
    ) => Principal | undefined | Promise<Principal | undefined>);

export interface Secp256k1AuthOptions {
  /**
   * Which keys may connect: compressed public keys in hex, or a function of the proven key (and the
   * hello's user agent) returning the principal or undefined. Unset: any key that proves itself.
   * A refused key is closed with 4100 "invalid public key".
   */
  readonly allow?: Secp256k1Allow;
  /** Permissions of the principal when `allow` is unset or a list of keys. Default none. */
  readonly permissions?: readonly string[];
}

/**
 * The server side of Hemi's secp256k1 handshake as a Switchboard authenticator: the hello's key
 * gets a fresh challenge (16-byte nonce ‖ `Hello: <key>\nMessage: I am not a robot!\n`); the answer
 * must be a compact signature of its SHA-256 that recovers that same key; then the key must be
 * allowed. The principal's id is the compressed key in hex; `attributes.userAgent` is the hello's.
 *
 * @example secp256k1Auth({ allow: ['02a1…'], permissions: ['bfg:*'] })
 */
export function secp256k1Auth(options: Secp256k1AuthOptions = {}): Authenticator {
  const permissions = options.permissions ?? [];
  const allow = options.allow;
  const allowed = typeof allow === 'function' || allow === undefined ? undefined : normalizedKeys(allow);

  async function admit(publicKey: string, userAgent: string | undefined): Promise<AuthOutcome> {
    const attributes = userAgent === undefined ? {} : { attributes: { userAgent } };
    if (typeof allow === 'function') {
      const principal = await allow(publicKey, userAgent);
      return principal ? { ok: true, principal } : refuse(SECP256K1_REFUSALS.invalidPublicKey);
    }
    if (allowed !== undefined && !allowed.has(publicKey)) return refuse(SECP256K1_REFUSALS.invalidPublicKey);
    return { ok: true, principal: { id: publicKey, permissions, ...attributes } };
  }

  return {
    authenticate({ credentials }): AuthOutcome {
      if (!isObject(credentials) || typeof credentials.publickey !== 'string') {
        return refuse(SECP256K1_REFUSALS.malformedPublicKey);
      }
      const sent = credentials.publickey;
      const userAgent = typeof credentials.userAgent === 'string' ? credentials.userAgent : undefined;
      const publicKey = compressedPublicKey(sent);
      if (publicKey === undefined) return refuse(SECP256K1_REFUSALS.malformedPublicKey);
      const message = challengeMessage(publicKey);
      const challenge: HemiChallenge = { publickey: sent, message: bytesToHex(message) };
      return {
        ok: 'challenge',
        challenge,
        verify(response) {
          const signature =
            isObject(response) && typeof response.signature === 'string'
              ? bytesFromHex(response.signature)
              : undefined;
          const signer = signature && recoverCompact(signature, challengeHash(message));
          if (!signer) return refuse(SECP256K1_REFUSALS.malformedSignature);
          // Hemi closes a signature by another key "normally" (1000); only an unlisted key gets 4100.
          if (bytesToHex(signer.publicKey) !== publicKey)
            return refuse(SECP256K1_REFUSALS.notTheSameSigner, CLOSE_CODES.NORMAL.code);
          return admit(publicKey, userAgent);
        },
      };
    },
  };
}

/** The allow-list in the form keys are compared in: compressed lowercase hex. */
function normalizedKeys(keys: Iterable<string>): Set<string> {
  const set = new Set<string>();
  for (const key of keys) {
    const compressed = compressedPublicKey(key);
    if (compressed === undefined)
      throw new Error(`allow-list entry ${JSON.stringify(key)} is not a secp256k1 public key`);
    set.add(compressed);
  }
  return set;
}
