import { gunzipSync, gzipSync } from 'node:zlib';
import { DEFAULT_MAX_DEPTH, parseBoundedJson, valueDepthExceeds } from '../wire/bounded-json.js';
import type { Member, PresenceChange } from './broker.js';

/**
 * How the Redis broker writes payloads, publications and presence into Redis, and reads them back.
 * Whatever is read from Redis may have been written by another process: every reader here is
 * bounded (size, nesting) and returns a result instead of throwing, since it runs inside ioredis's
 * event handlers where a throw would escape to the process.
 */

/** Largest payload, as JSON text, the broker publishes or reads back (also after gunzip). */
export const DEFAULT_MAX_PAYLOAD_BYTES = 16 * 1024 * 1024;

/** Marks a gzipped payload; JSON text never starts with this byte. */
const GZIP_MARK = 0x00;
const BAR = 0x7c; // |
/** Epochs the broker makes are UUIDs; anything much longer was not written by a broker. */
const MAX_EPOCH_LENGTH = 128;

export type Read<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly reason: string };

export interface PayloadCodec {
  readonly gzip: boolean;
  readonly maxPayloadBytes: number;
}

/** The stored form of a payload. Throws a RangeError for one that could not be read back. */
export function encodePayload(payload: unknown, codec: PayloadCodec): Buffer | string {
  if (valueDepthExceeds(payload, DEFAULT_MAX_DEPTH))
    throw new RangeError(`payload nested deeper than ${DEFAULT_MAX_DEPTH} levels`);
  const json = JSON.stringify(payload ?? null);
  if (Buffer.byteLength(json) > codec.maxPayloadBytes)
    throw new RangeError(`payload larger than ${codec.maxPayloadBytes} bytes`);
  return codec.gzip ? Buffer.concat([Buffer.of(GZIP_MARK), gzipSync(json)]) : json;
}

/** A payload as stored, gzipped or not (readers accept both, whatever this broker writes). */
export function decodePayload(data: Buffer, codec: PayloadCodec): Read<unknown> {
  let bytes = data;
  if (data[0] === GZIP_MARK) {
    try {
      bytes = gunzipSync(data.subarray(1), { maxOutputLength: codec.maxPayloadBytes });
    } catch (error) {
      return {
        ok: false,
        reason: `not gzip within ${codec.maxPayloadBytes} bytes: ${(error as Error).message}`,
      };
    }
  } else if (data.length > codec.maxPayloadBytes) {
    return { ok: false, reason: `larger than ${codec.maxPayloadBytes} bytes` };
  }
  const parsed = parseBoundedJson(bytes.toString(), DEFAULT_MAX_DEPTH);
  return parsed.ok ? parsed : { ok: false, reason: parsed.message };
}

/** A message on a key's publication channel: `<epoch>|<offset>|<payload>`. */
export function readPublicationMessage(
  message: Buffer,
): Read<{ epoch: string; offset: number; payload: Buffer }> {
  const firstBar = message.indexOf(BAR);
  const secondBar = firstBar < 0 ? -1 : message.indexOf(BAR, firstBar + 1);
  if (secondBar < 0) return { ok: false, reason: 'not <epoch>|<offset>|<payload>' };
  const epoch = message.subarray(0, firstBar).toString();
  if (!epoch || epoch.length > MAX_EPOCH_LENGTH) return { ok: false, reason: 'no epoch, or too long a one' };
  const offsetText = message.subarray(firstBar + 1, secondBar).toString();
  const offset = Number(offsetText);
  if (!/^[1-9][0-9]{0,15}$/.test(offsetText) || !Number.isSafeInteger(offset))
    return { ok: false, reason: 'offset is not a positive integer' };
  return { ok: true, value: { epoch, offset, payload: message.subarray(secondBar + 1) } };
}

/** A presence event as published by join and leave. */
export function readPresenceChange(text: string): Read<PresenceChange> {
  const parsed = parseBoundedJson(text, DEFAULT_MAX_DEPTH);
  if (!parsed.ok) return { ok: false, reason: parsed.message };
  const change = parsed.value as { type?: unknown; member?: unknown } | null;
  if (typeof change !== 'object' || change === null || (change.type !== 'join' && change.type !== 'leave'))
    return { ok: false, reason: 'not a join or leave' };
  const member = asMember(change.member);
  return member ? { ok: true, value: { type: change.type, member } } : { ok: false, reason: 'no member' };
}

/** A member as stored in a key's member hash. */
export function readMember(text: string): Read<Member> {
  const parsed = parseBoundedJson(text, DEFAULT_MAX_DEPTH);
  if (!parsed.ok) return { ok: false, reason: parsed.message };
  const member = asMember(parsed.value);
  return member ? { ok: true, value: member } : { ok: false, reason: 'not a member' };
}

function asMember(value: unknown): Member | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { connectionId, userId } = value as Record<string, unknown>;
  return typeof connectionId === 'string' && typeof userId === 'string' ? (value as Member) : undefined;
}
