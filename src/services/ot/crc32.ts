import CRC32 from 'crc-32';

/**
 * CRC-32 (IEEE, as zlib and Go's `hash/crc32`) of a text's UTF-8 bytes, as an unsigned 32-bit
 * number: what goval's `OTPacket.crc32` carries.
 *
 * @example crc32('hello') // → 907060870
 */
export function crc32(text: string): number {
  return CRC32.str(text) >>> 0;
}
