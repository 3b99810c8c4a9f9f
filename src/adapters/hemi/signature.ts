import { secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';

/**
 * Compact recoverable signatures as btcec/dcrd `SignCompact` writes them: 65 bytes,
 * `[27 + recid + (4 if the key is compressed)] ‖ r ‖ s`. @noble/curves' `recovered` format is
 * `recid ‖ r ‖ s`, so only the header byte differs.
 */

/** Length of a compact signature. */
export const COMPACT_SIGNATURE_LENGTH = 65;
/** The header byte's base (Bitcoin's signed-message magic). */
const MAGIC_OFFSET = 27;
/** Added to the header when the signer's key is to be serialized compressed. */
const COMPRESSED_FLAG = 4;

/** Signs a 32-byte hash as Hemi clients do: `SignCompact(priv, hash, compressed = true)`. */
export function signCompact(privateKey: Uint8Array, hash: Uint8Array): Uint8Array {
  // The hash is already the message digest: noble must not hash it again.
  const recovered = secp256k1.sign(hash, privateKey, { prehash: false, format: 'recovered' });
  const compact = new Uint8Array(COMPACT_SIGNATURE_LENGTH);
  compact[0] = MAGIC_OFFSET + COMPRESSED_FLAG + recovered[0]!;
  compact.set(recovered.subarray(1), 1);
  return compact;
}

/** The signer recovered from a compact signature. */
export interface RecoveredKey {
  /** The 33-byte compressed public key. */
  readonly publicKey: Uint8Array;
  /** Whether the header asked for the compressed form. */
  readonly compressed: boolean;
}

/** `RecoverCompact`: who signed `hash`, or undefined for any malformed or invalid signature. Never throws. */
export function recoverCompact(signature: Uint8Array, hash: Uint8Array): RecoveredKey | undefined {
  if (signature.length !== COMPACT_SIGNATURE_LENGTH) return undefined;
  const header = signature[0]! - MAGIC_OFFSET;
  if (header < 0 || header > 7) return undefined;
  const recovered = new Uint8Array(COMPACT_SIGNATURE_LENGTH);
  recovered[0] = header & 3;
  recovered.set(signature.subarray(1), 1);
  try {
    const publicKey = secp256k1.recoverPublicKey(recovered, hash, { prehash: false });
    return { publicKey, compressed: (header & COMPRESSED_FLAG) !== 0 };
  } catch {
    // r or s out of range, or no point for this recid: not a signature by anyone.
    return undefined;
  }
}

/**
 * Parses a public key in hex, compressed (33 bytes) or not (65), as `secp256k1.ParsePubKey` does.
 * Returns the compressed hex form, or undefined if it is not a point on the curve. Never throws.
 */
export function compressedPublicKey(hex: string): string | undefined {
  const bytes = bytesFromHex(hex);
  if (bytes === undefined || (bytes.length !== 33 && bytes.length !== 65)) return undefined;
  try {
    return secp256k1.Point.fromBytes(bytes).toHex(true);
  } catch {
    return undefined;
  }
}

/** The compressed public key, in hex, of a 32-byte private key. */
export function publicKeyOf(privateKey: Uint8Array): string {
  return bytesToHex(secp256k1.getPublicKey(privateKey, true));
}

/** Hex to bytes, or undefined for odd lengths and non-hex digits (Go's `hex.DecodeString` errors). */
export function bytesFromHex(hex: string): Uint8Array | undefined {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) return undefined;
  return hexToBytes(hex);
}
