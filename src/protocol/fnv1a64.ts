/**
 * FNV-1a, 64-bit, over bytes, as 16 lowercase hex digits.
 *
 * Why this hash: the contract hash only tells equal contracts from different ones, so it needs to be
 * stable, short and identical in Node and the browser, not secret. A peer that lies about its hash
 * only loses its own check (the server still refuses calls its schemas reject). FNV-1a is
 * synchronous, dependency-free, one line in any language, and 64 bits make an accidental collision
 * between two real contracts negligible. Web Crypto's SHA-256 would be async and missing outside
 * secure contexts (a page on plain http), and node:crypto does not exist in the browser.
 *
 * The 64-bit state is two 32-bit halves, so it runs on plain numbers (no BigInt on a 13 KB input).
 */
export function fnv1a64(bytes: Uint8Array): string {
  // Offset basis 0xcbf29ce484222325.
  let hi = 0xcbf29ce4;
  let lo = 0x84222325;
  for (const byte of bytes) {
    lo ^= byte;
    // Multiply by the prime 0x100000001b3 = 2^40 + 0x1b3, modulo 2^64; every product stays below 2^53.
    const low = (lo >>> 0) * 0x1b3;
    const carry = Math.floor(low / 0x1_0000_0000);
    hi = (hi * 0x1b3 + carry + (lo & 0xffffff) * 0x100) % 0x1_0000_0000;
    lo = low % 0x1_0000_0000;
  }
  return hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0');
}
