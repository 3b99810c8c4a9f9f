import { randomBytes } from 'node:crypto';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, concatBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { challengeText, NONCE_LENGTH } from '../../wire/hemi/handshake.js';
import { bytesFromHex, signCompact } from './signature.js';

/**
 * Hemi's `AuthenticateMessage`: a 16-byte random nonce, then the text naming the key. Its bytes go
 * out in hex as the challenge; the client signs their SHA-256.
 */
export function challengeMessage(
  compressedPublicKeyHex: string,
  nonce: Uint8Array = randomBytes(NONCE_LENGTH),
): Uint8Array {
  if (nonce.length !== NONCE_LENGTH) throw new RangeError(`a nonce is ${NONCE_LENGTH} bytes`);
  return concatBytes(nonce, utf8ToBytes(challengeText(compressedPublicKeyHex)));
}

/** The digest that is signed: `sha256(nonce ‖ text)`. */
export function challengeHash(message: Uint8Array): Uint8Array {
  return sha256(message);
}

/** Why a client refuses to sign a challenge. */
export type ChallengeRefusal = 'not hex' | 'too short' | 'zero nonce';

/**
 * The client's answer to `secp256k1-hello-challenge`: the hex compact signature of the message's
 * hash. Refuses, as `NewAuthenticateFromBytes` does, a message shorter than a nonce or whose nonce
 * is all zeros: signing a server-chosen digest without fresh randomness would sign anything.
 */
export function answerChallenge(
  privateKey: Uint8Array,
  messageHex: string,
): { ok: true; signature: string } | { ok: false; reason: ChallengeRefusal } {
  const message = bytesFromHex(messageHex);
  if (message === undefined) return { ok: false, reason: 'not hex' };
  if (message.length < NONCE_LENGTH) return { ok: false, reason: 'too short' };
  if (message.subarray(0, NONCE_LENGTH).every((byte) => byte === 0))
    return { ok: false, reason: 'zero nonce' };
  return { ok: true, signature: bytesToHex(signCompact(privateKey, challengeHash(message))) };
}
