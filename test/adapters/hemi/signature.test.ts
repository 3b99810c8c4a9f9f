import { secp256k1 } from '@noble/curves/secp256k1.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { answerChallenge, challengeHash, challengeMessage } from '../../../src/adapters/hemi/challenge.js';
import {
  compressedPublicKey,
  publicKeyOf,
  recoverCompact,
  signCompact,
} from '../../../src/adapters/hemi/signature.js';

const ONE = hexToBytes('0000000000000000000000000000000000000000000000000000000000000001');
/** The generator point: the public key of private key 1. */
const G = '0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798';

describe('compact signatures (btcec/dcrd SignCompact layout)', () => {
  test('private key 1, sha256("Satoshi Nakamoto"): r‖s is the published RFC 6979 vector, header 27+4+recid first', () => {
    const hash = sha256(utf8ToBytes('Satoshi Nakamoto'));
    const signature = signCompact(ONE, hash);
    // r‖s as in bitcoinjs-lib's deterministic ECDSA fixtures; 0x20 = 27 + 4 (compressed) + recid 1.
    expect(bytesToHex(signature)).toBe(
      '20934b1ea10a4b3c1757e2b0c017d0b6143ce3c9a7e6a4a49860d7a6ab210ee3d82442ce9d2b916064108014783e923ec36b49743e2ffa1c4496f01a512aafd9e5',
    );
    expect(recoverCompact(signature, hash)).toEqual({ publicKey: hexToBytes(G), compressed: true });
    expect(publicKeyOf(ONE)).toBe(G);
  });

  /** dcrd's own SignCompact vectors (ecdsa/signature_test.go, signTests, RFC 6979 nonces; recovery code 1). */
  const dcrdVectors = [
    {
      key: '0000000000000000000000000000000000000000000000000000000000000001',
      hash: '9f64a747e1b97f131fabb6b447296c9b6f0201e79fb3c5356e6c77e89b6a806a',
      r: 'cb28623215297cda8872a5ad53dae1248ec3a7c049221c50b83f3cb3345f5f9b',
      s: '0a27f166d1db71cc6b4fbd5303d79b5d1706ecec5474529dfa19195800492599',
    },
    {
      key: '0000000000000000000000000000000000000000000000000000000000000002',
      hash: '9f64a747e1b97f131fabb6b447296c9b6f0201e79fb3c5356e6c77e89b6a806a',
      r: '8e989e7de833caeb017354b215fca6d198357dce86623debf66ff85da70671b9',
      s: '403d28ef2f82f58fc27afa2bfe828b8f4819d462a8f7f257c2c1a99ca42efd4b',
    },
    {
      key: '0000000000000000000000000000000000000000000000000000000000000001',
      hash: '74f81fe167d99b4cb41d6d0ccda82278caee9f3e2f25d5e5a3936ff3dcec60d0',
      r: 'a947fedb725f2873f711f2c679cfbd2c5d1da9fb3d3e1d6d92bcdb99ed907ec0',
      s: '7bb7c665a32f5e072671e615a7d1d3535eb2965951622224ab138cd2d62837a3',
    },
  ];
  test.each(dcrdVectors)(
    'equals dcrd SignCompact(key $key, compressed): 0x20 ‖ r ‖ s',
    ({ key, hash, r, s }) => {
      // 0x20 = 27 (magic) + 4 (compressed) + recovery code 1.
      const signature = signCompact(hexToBytes(key), hexToBytes(hash));
      expect(bytesToHex(signature)).toBe(`20${r}${s}`);
      expect(bytesToHex(recoverCompact(signature, hexToBytes(hash))!.publicKey)).toBe(
        publicKeyOf(hexToBytes(key)),
      );
    },
  );

  test('a library-made signature recovers the signer, and noble verifies it', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 48, maxLength: 48 }), fc.uint8Array(), (seed, message) => {
        const privateKey = secp256k1.utils.randomSecretKey(seed);
        const hash = sha256(message);
        const signature = signCompact(privateKey, hash);
        expect(signature.length).toBe(65);
        expect(signature[0]).toBeGreaterThanOrEqual(31);
        expect(signature[0]).toBeLessThanOrEqual(34);
        const signer = recoverCompact(signature, hash);
        expect(bytesToHex(signer!.publicKey)).toBe(publicKeyOf(privateKey));
        expect(
          secp256k1.verify(signature.subarray(1), hash, secp256k1.getPublicKey(privateKey), {
            prehash: false,
          }),
        ).toBe(true);
      }),
      { numRuns: 50 },
    );
  });

  test('an uncompressed header (27+recid) recovers the same key', () => {
    const hash = sha256(utf8ToBytes('x'));
    const signature = signCompact(ONE, hash);
    signature[0]! -= 4;
    expect(recoverCompact(signature, hash)).toEqual({ publicKey: hexToBytes(G), compressed: false });
  });

  test('another hash recovers another key', () => {
    const signature = signCompact(ONE, sha256(utf8ToBytes('a')));
    const signer = recoverCompact(signature, sha256(utf8ToBytes('b')));
    expect(signer === undefined || bytesToHex(signer.publicKey) !== G).toBe(true);
  });

  test('malformed signatures recover nothing and never throw', () => {
    const hash = sha256(utf8ToBytes('x'));
    expect(recoverCompact(new Uint8Array(64), hash)).toBeUndefined();
    expect(recoverCompact(new Uint8Array(65), hash)).toBeUndefined(); // header 0
    const zeros = new Uint8Array(65);
    zeros[0] = 31;
    expect(recoverCompact(zeros, hash)).toBeUndefined(); // r = s = 0
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 70 }), (bytes) => {
        recoverCompact(bytes, hash);
      }),
    );
  });

  test('public keys parse compressed or uncompressed, and nothing else', () => {
    const uncompressed = bytesToHex(secp256k1.getPublicKey(ONE, false));
    expect(compressedPublicKey(G)).toBe(G);
    expect(compressedPublicKey(G.toUpperCase())).toBe(G);
    expect(compressedPublicKey(uncompressed)).toBe(G);
    expect(compressedPublicKey('02ab')).toBeUndefined();
    expect(compressedPublicKey(`04${'00'.repeat(64)}`)).toBeUndefined();
    expect(compressedPublicKey('zz')).toBeUndefined();
    fc.assert(fc.property(fc.string(), (hex) => void compressedPublicKey(hex)));
  });
});

describe('the challenge', () => {
  const nonce = hexToBytes('000102030405060708090a0b0c0d0e0f');

  test('is nonce ‖ "Hello: <key>\\nMessage: I am not a robot!\\n"', () => {
    expect(bytesToHex(challengeMessage(G, nonce))).toBe(
      `000102030405060708090a0b0c0d0e0f${bytesToHex(utf8ToBytes(`Hello: ${G}\nMessage: I am not a robot!\n`))}`,
    );
    expect(challengeMessage(G).length).toBe(16 + 101);
  });

  test('the answer signs sha256 of the whole message and recovers the key', () => {
    const message = challengeMessage(G, nonce);
    const answer = answerChallenge(ONE, bytesToHex(message));
    expect(answer.ok).toBe(true);
    if (!answer.ok) return;
    expect(bytesToHex(recoverCompact(hexToBytes(answer.signature), challengeHash(message))!.publicKey)).toBe(
      G,
    );
  });

  test('a client refuses a zero nonce, a short message and non-hex', () => {
    expect(answerChallenge(ONE, `${'00'.repeat(16)}aa`)).toEqual({ ok: false, reason: 'zero nonce' });
    expect(answerChallenge(ONE, '01'.repeat(15))).toEqual({ ok: false, reason: 'too short' });
    expect(answerChallenge(ONE, 'xyz')).toEqual({ ok: false, reason: 'not hex' });
    expect(answerChallenge(ONE, '01'.repeat(16)).ok).toBe(true);
  });
});
