import { sha256 } from '@noble/hashes/sha2.js';
import { API_KEY_HASH_BYTES } from './opcodes.js';

/**
 * The 16 bytes a fetch_ml client puts after every opcode: the first 16 bytes of SHA-256 of its API key
 * (the server stores only SHA-256 hashes and looks keys up by this prefix). Runs in browsers too.
 *
 * @example encodeRequest('dataset_list', { api_key_hash: apiKeyHash('sb_…') })
 */
export function apiKeyHash(apiKey: string): Uint8Array {
  return sha256(new TextEncoder().encode(apiKey)).slice(0, API_KEY_HASH_BYTES);
}
