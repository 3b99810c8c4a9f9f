import { secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { secp256k1Auth } from '../../../src/adapters/hemi/authenticator.js';
import type { Authenticator, AuthOutcome } from '../../../src/server/auth/authenticator.js';
import type { UpgradeRequest } from '../../../src/transport/socket.js';
import type { HemiChallenge } from '../../../src/wire/hemi/wire.js';
import { keyPair, signChallenge } from './support.js';

const request = { headers: {}, url: '/' } as unknown as UpgradeRequest;

async function challengeFor(auth: Authenticator, credentials: unknown) {
  const outcome = await auth.authenticate({ credentials, request });
  if (outcome.ok !== 'challenge') throw new Error(`expected a challenge, got ${JSON.stringify(outcome)}`);
  return outcome as Extract<AuthOutcome, { ok: 'challenge' }> & { challenge: HemiChallenge };
}

describe('secp256k1Auth', () => {
  test('issues a fresh 16-byte nonce per hello', async () => {
    const key = keyPair();
    const auth = secp256k1Auth();
    const first = await challengeFor(auth, { publickey: key.publicKey });
    const second = await challengeFor(auth, { publickey: key.publicKey });
    expect(first.challenge.publickey).toBe(key.publicKey);
    expect(first.challenge.message.slice(32)).toBe(second.challenge.message.slice(32));
    expect(first.challenge.message.slice(0, 32)).not.toBe(second.challenge.message.slice(0, 32));
  });

  test('an uncompressed key in the hello is answered in its own form and admitted as the compressed key', async () => {
    const key = keyPair();
    const uncompressed = bytesToHex(secp256k1.getPublicKey(key.privateKey, false));
    const auth = secp256k1Auth({ allow: [uncompressed], permissions: ['p'] });
    const { challenge, verify } = await challengeFor(auth, { publickey: uncompressed });
    expect(challenge.publickey).toBe(uncompressed);
    // The signed text names the key compressed, as Hemi re-serializes it.
    expect(new TextDecoder().decode(hexToBytes(challenge.message).subarray(16))).toBe(
      `Hello: ${key.publicKey}\nMessage: I am not a robot!\n`,
    );
    expect(await verify({ signature: signChallenge(key.privateKey, challenge.message) })).toEqual({
      ok: true,
      principal: { id: key.publicKey, permissions: ['p'] },
    });
  });

  test('an allow function decides, and gets the key and the user agent', async () => {
    const key = keyPair();
    const seen: unknown[] = [];
    const auth = secp256k1Auth({
      allow: (publicKey, userAgent) => {
        seen.push([publicKey, userAgent]);
        return userAgent === 'popm/2'
          ? { id: `miner:${publicKey.slice(0, 8)}`, permissions: ['pop:*'] }
          : undefined;
      },
    });
    const ok = await challengeFor(auth, { publickey: key.publicKey, userAgent: 'popm/2' });
    expect(await ok.verify({ signature: signChallenge(key.privateKey, ok.challenge.message) })).toEqual({
      ok: true,
      principal: { id: `miner:${key.publicKey.slice(0, 8)}`, permissions: ['pop:*'] },
    });
    const no = await challengeFor(auth, { publickey: key.publicKey, userAgent: 'other' });
    expect(await no.verify({ signature: signChallenge(key.privateKey, no.challenge.message) })).toEqual({
      ok: false,
      reason: 'invalid public key',
    });
    expect(seen).toEqual([
      [key.publicKey, 'popm/2'],
      [key.publicKey, 'other'],
    ]);
  });

  test('refuses an allow-list entry that is not a key when the server is set up', () => {
    expect(() => secp256k1Auth({ allow: ['nope'] })).toThrow(
      'allow-list entry "nope" is not a secp256k1 public key',
    );
  });

  test('arbitrary credentials never throw: a challenge or "malformed public key"', async () => {
    const auth = secp256k1Auth();
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), async (credentials) => {
        const outcome = await auth.authenticate({ credentials, request });
        expect(outcome.ok === false ? outcome.reason : 'challenge').toBe('malformed public key');
      }),
    );
  });

  test('arbitrary responses never throw and never pass', async () => {
    const key = keyPair();
    const { verify } = await challengeFor(secp256k1Auth(), { publickey: key.publicKey });
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.jsonValue(),
          fc.uint8Array({ minLength: 65, maxLength: 65 }).map((bytes) => ({ signature: bytesToHex(bytes) })),
        ),
        async (response) => {
          const outcome = await verify(response);
          expect(outcome.ok).toBe(false);
        },
      ),
    );
  });
});
