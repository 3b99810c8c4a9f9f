import { DEFAULT_MAX_DEPTH, parseBoundedJson } from '../bounded-json.js';
import { FIELD_ORDER, type Frame, type FrameFields, type SnapshotItem, STRING_FIELDS } from './frame.js';
import { isFrameType } from './frame-types.js';

/** Why a sync frame could not be decoded. Never thrown: `decodeFrame` returns it. */
export interface FrameError {
  /**
   * `BAD_FRAME`: not JSON, nested deeper than the decoder's `maxDepth`, not an object, or a field of
   * the wrong JSON type (Go's `ReadJSON` would fail on it); `UNKNOWN_TYPE`: a well-formed frame whose `type` this protocol does not define
   * (the ws-proxy logs and ignores those).
   */
  readonly code: 'BAD_FRAME' | 'UNKNOWN_TYPE';
  readonly message: string;
  /** The frame's `id`, when it was readable, so a response can still be correlated. */
  readonly id?: string;
  /** On `UNKNOWN_TYPE`: the type that was sent (`""` when the field was missing). */
  readonly type?: string;
}

/** What `decodeFrame` returns. */
export type DecodedFrame =
  | { readonly ok: true; readonly frame: Frame }
  | { readonly ok: false; readonly error: FrameError };

/** How deep `items` may nest (a snapshot's items holding items...). The origin never nests; ours. */
export const MAX_ITEM_DEPTH = 4;

/**
 * Encodes a frame exactly as the origin's `conn.WriteJSON(frame)` does: Go's `encoding/json` with
 * the struct's field order, every zero value left out except `type`, `<`, `>`, `&`, U+2028 and
 * U+2029 escaped, and the newline `json.Encoder` ends every value with.
 *
 * @example
 * encodeFrame({ type: 'key_delete', id: 'a1', name: 'agentbox-apikey-0f3c' })
 * // '{"id":"a1","type":"key_delete","name":"agentbox-apikey-0f3c"}\n'
 *
 * Throws only for values JSON cannot carry in `templateFull`/`configSnapshot` (BigInt, cycles).
 */
export function encodeFrame(frame: Frame): string {
  return `${goEscape(encodeObject(frame))}\n`;
}

function encodeObject(frame: FrameFields & { readonly type: string }): string {
  const parts: string[] = [];
  for (const field of FIELD_ORDER) {
    const value = frame[field];
    if (field === 'type') {
      parts.push(`"type":${JSON.stringify(frame.type)}`);
      continue;
    }
    if (field === 'templateFull' || field === 'configSnapshot') {
      // Raw JSON is empty only when absent: `[]`, `0` or `""` are values Go writes out.
      if (value !== undefined && value !== null) parts.push(`"${field}":${JSON.stringify(value)}`);
      continue;
    }
    if (isZero(value)) continue;
    if (field === 'items') {
      const items = (value as readonly SnapshotItem[]).map(encodeObject);
      parts.push(`"items":[${items.join(',')}]`);
    } else {
      parts.push(`${JSON.stringify(field)}:${JSON.stringify(value)}`);
    }
  }
  return `{${parts.join(',')}}`;
}

/** Go's omitempty: absent, "", false, 0 and empty lists are left out; so is JSON null (ours). */
function isZero(value: unknown): boolean {
  return (
    value === undefined ||
    value === null ||
    value === '' ||
    value === false ||
    value === 0 ||
    (Array.isArray(value) && value.length === 0)
  );
}

/** Go's `encoding/json` escapes these for safe embedding in HTML; JSON.stringify does not. */
function goEscape(json: string): string {
  return json.replace(
    /[<>&\u2028\u2029]/g,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

const bad = (message: string, id?: string): DecodedFrame => ({
  ok: false,
  error: id === undefined ? { code: 'BAD_FRAME', message } : { code: 'BAD_FRAME', message, id },
});

/** Go matches JSON keys to struct fields exactly first, then case-insensitively: `"TYPE"` fills `type`. */
const FIELD_BY_FOLDED_NAME: ReadonlyMap<string, (typeof FIELD_ORDER)[number]> = new Map(
  FIELD_ORDER.map((field) => [field.toLowerCase(), field]),
);
const STRING_FIELD_SET: ReadonlySet<string> = new Set(STRING_FIELDS);
const utf8 = new TextDecoder('utf-8');

/**
 * Decodes one sync message. Never throws: every way a frame can be wrong comes back as a
 * `FrameError`. Binary messages are read as UTF-8 JSON too, since Go's `ReadJSON` accepts both.
 * Zero values are dropped, so `decodeFrame(encodeFrame(f))` gives `f` back without them, and
 * unknown keys are ignored, as Go does.
 *
 * A message whose objects and arrays nest deeper than `maxDepth` (the frame itself is one level) is
 * refused before it is parsed (ours: Go's decoder allows 10,000 levels): `templateFull` and
 * `configSnapshot` are stored and re-encoded whole, and a value too deep to encode would poison
 * every snapshot after it.
 */
export function decodeFrame(
  message: string | Uint8Array,
  maxDepth: number = DEFAULT_MAX_DEPTH,
): DecodedFrame {
  const text = typeof message === 'string' ? message : utf8.decode(message);
  const parsed = parseBoundedJson(text, maxDepth);
  if (!parsed.ok) {
    return bad(
      parsed.reason === 'too-deep'
        ? parsed.message
        : `malformed JSON: ${parsed.message.replace(/^not JSON: /, '')}`,
    );
  }
  const value = parsed.value;
  if (!isObject(value)) return bad('a frame must be a JSON object');
  const read = readFields(value, 0);
  if (!read.ok) return bad(read.message, read.id);
  const { type, id } = read.fields;
  if (!isFrameType(type)) {
    const error: FrameError = {
      code: 'UNKNOWN_TYPE',
      message: `unknown frame type ${JSON.stringify(type).slice(0, 64)}`,
      type,
      ...(id === undefined ? {} : { id }),
    };
    return { ok: false, error };
  }
  return { ok: true, frame: read.fields as Frame };
}

type Read =
  | { readonly ok: true; readonly fields: FrameFields & { type: string } }
  | { readonly ok: false; readonly message: string; readonly id?: string };

function readFields(object: Record<string, unknown>, depth: number): Read {
  // Go fills fields in key order, so with duplicate spellings the last one wins; so here.
  const found: Partial<Record<(typeof FIELD_ORDER)[number], unknown>> = {};
  for (const [key, value] of Object.entries(object)) {
    const field = FIELD_BY_FOLDED_NAME.get(key) ?? FIELD_BY_FOLDED_NAME.get(key.toLowerCase());
    if (field !== undefined) found[field] = value;
  }
  const id = typeof found.id === 'string' && found.id !== '' ? found.id : undefined;
  const fail = (message: string): Read =>
    id === undefined ? { ok: false, message } : { ok: false, message, id };
  const out: Record<string, unknown> = {};
  for (const field of FIELD_ORDER) {
    const value = found[field];
    if (field === 'type') {
      if (value !== undefined && value !== null && typeof value !== 'string') {
        return fail('field "type" must be a string');
      }
      out.type = value ?? '';
      continue;
    }
    if (value === undefined || value === null) continue;
    if (STRING_FIELD_SET.has(field)) {
      if (typeof value !== 'string') return fail(`field "${field}" must be a string`);
      if (value !== '') out[field] = value;
    } else if (field === 'ok') {
      if (typeof value !== 'boolean') return fail('field "ok" must be a boolean');
      if (value) out.ok = true;
    } else if (field === 'httpStatus') {
      if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
        return fail('field "httpStatus" must be an integer');
      }
      if (value !== 0) out.httpStatus = value;
    } else if (field === 'items') {
      if (!Array.isArray(value)) return fail('field "items" must be an array');
      if (value.length === 0) continue;
      if (depth >= MAX_ITEM_DEPTH) return fail(`"items" nested deeper than ${MAX_ITEM_DEPTH}`);
      const items: SnapshotItem[] = [];
      for (const [index, item] of value.entries()) {
        // A null entry is Go's zero Frame.
        if (item === null) {
          items.push({ type: '' });
          continue;
        }
        if (!isObject(item)) return fail(`items[${index}] must be an object`);
        const read = readFields(item, depth + 1);
        if (!read.ok) return fail(`items[${index}]: ${read.message}`);
        items.push(read.fields as SnapshotItem);
      }
      out.items = items;
    } else {
      // templateFull and configSnapshot are raw JSON: any value but null is kept as is.
      out[field] = value;
    }
  }
  return { ok: true, fields: out as unknown as FrameFields & { type: string } };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
