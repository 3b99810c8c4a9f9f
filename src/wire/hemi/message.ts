/**
 * Hemi's message envelope (`api/protocol` `Message`), as it travels in one JSON text frame:
 *
 *   {"header":{"command":"bfgapi-ping-request","id":"1"},"payload":{"timestamp":1700000000}}
 *
 * `id` is omitted when empty (Go `omitempty`); `payload` is always present and may be `null`.
 */

import { DEFAULT_MAX_DEPTH, parseBoundedJson } from '../bounded-json.js';

/** One Hemi message: the command it names, its id (empty for notifications) and its payload. */
export interface HemiMessage {
  readonly command: string;
  /** Echoed by the reply to a request; `''` (sent as no `id` at all) for notifications. */
  readonly id: string;
  readonly payload: unknown;
}

/** Why a frame is not a Hemi message. Never thrown: {@link decodeHemiMessage} returns it. */
export interface HemiMessageError {
  readonly ok: false;
  /**
   * `binary`: a binary frame (Hemi only sends text); `malformed`: not a `{header, payload}` JSON
   * object; `too-deep`: objects and arrays nested past the decoder's `maxDepth`, refused unparsed.
   */
  readonly reason: 'binary' | 'malformed' | 'too-deep';
  readonly message: string;
}

export type HemiDecoded = { readonly ok: true; readonly message: HemiMessage } | HemiMessageError;

/** Longest header id accepted; the handshake's `HelloChallengeAccepted:<66 hex>` is 89 characters. */
export const MAX_HEMI_ID_LENGTH = 128;

/**
 * Writes the envelope with the field order of Go's `json.Marshal`: header.command, header.id, payload.
 * Throws only for payloads JSON cannot carry (BigInt, cycles).
 */
export function encodeHemiMessage(message: HemiMessage): string {
  const id = message.id === '' ? '' : `,"id":${JSON.stringify(message.id)}`;
  const payload = message.payload === undefined ? 'null' : JSON.stringify(message.payload);
  return `{"header":{"command":${JSON.stringify(message.command)}${id}},"payload":${payload}}`;
}

/**
 * Reads one frame; never throws. Unknown fields are ignored, as Go's decoder does. A frame nested
 * deeper than `maxDepth` (the envelope counts as one level) is refused before it is parsed.
 */
export function decodeHemiMessage(
  frame: string | Uint8Array,
  maxDepth: number = DEFAULT_MAX_DEPTH,
): HemiDecoded {
  if (typeof frame !== 'string')
    return { ok: false, reason: 'binary', message: 'binary frame on the Hemi wire' };
  const parsed = parseBoundedJson(frame, maxDepth);
  if (!parsed.ok) {
    return parsed.reason === 'too-deep'
      ? { ok: false, reason: 'too-deep', message: parsed.message }
      : malformed(`malformed JSON: ${parsed.message.replace(/^not JSON: /, '')}`);
  }
  const value = parsed.value;
  if (!isObject(value)) return malformed('a message must be a JSON object');
  const header = value.header;
  if (!isObject(header)) return malformed('field "header" must be an object');
  if (typeof header.command !== 'string' || header.command === '') {
    return malformed('field "header.command" must be a non-empty string');
  }
  const id = header.id ?? '';
  if (typeof id !== 'string' || id.length > MAX_HEMI_ID_LENGTH) {
    return malformed(`field "header.id" must be a string of at most ${MAX_HEMI_ID_LENGTH} characters`);
  }
  // Go's encoder always writes the payload (a nil RawMessage is `null`); a missing one is not Hemi.
  if (!Object.hasOwn(value, 'payload')) return malformed('field "payload" is missing');
  return { ok: true, message: { command: header.command, id, payload: value.payload } };
}

const malformed = (message: string): HemiMessageError => ({ ok: false, reason: 'malformed', message });

/** A plain JSON object (not null, not an array). */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
