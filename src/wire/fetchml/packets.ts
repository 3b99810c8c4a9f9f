/**
 * Server → client packets: `[packet_type:1][timestamp:u64 BE, ms since epoch][fields…]`.
 * The six types and their values are fetch_ml's (`PacketType…` in protocol.go); the byte layout after
 * the type was not visible, so the fields below are ours, as ORIGINS.md proposes. docs/wire-fetchml.md.
 */
import { type Field, field, type Layout, type LayoutError, layout, type ValuesOf } from './layout.js';
import { hexByte } from './opcodes.js';

/** The packet types, with fetch_ml's values. */
export const PACKET_TYPES = {
  success: 0x00,
  error: 0x01,
  progress: 0x02,
  status: 0x03,
  data: 0x04,
  log: 0x05,
} as const;

/** A packet type by name, e.g. `data`. */
export type PacketType = keyof typeof PACKET_TYPES;

/** Log packet levels (ours). */
export const LOG_LEVELS = { debug: 0x00, info: 0x01, warn: 0x02, error: 0x03 } as const;
/** A log packet level by name. */
export type LogLevel = keyof typeof LOG_LEVELS;

// Ours: milliseconds, so a log line keeps the time it was written to the millisecond.
const timestamp = field.u64('timestamp');

/** Each packet's layout after the type byte. */
export const PACKET_LAYOUTS = {
  success: layout('success', [timestamp, field.string('message', 2)]),
  error: layout('error', [
    timestamp,
    field.u8('error_code'),
    field.string('message', 2),
    field.string('details', 2),
  ]),
  progress: layout('progress', [
    timestamp,
    field.u8('progress_type'),
    field.u32('value'),
    field.u32('total'),
    field.string('message', 2),
  ]),
  status: layout('status', [timestamp, field.string('status_type', 1), field.blob('payload', 4)]),
  data: layout('data', [timestamp, field.string('data_type', 1), field.blob('payload', 4)]),
  log: layout('log', [timestamp, field.u8('level'), field.string('message', 2)]),
} as const satisfies Record<PacketType, Layout>;

type FieldsOf<T extends PacketType> =
  (typeof PACKET_LAYOUTS)[T] extends Layout<infer F extends readonly Field[]> ? ValuesOf<F> : never;

/** A packet as values: its type, its timestamp in ms, and its fields by the layout's names. */
export type Packet = {
  [T in PacketType]: { readonly type: T; readonly timestamp: number } & Omit<FieldsOf<T>, 'timestamp'>;
}[PacketType];

/** A packet of one type. */
export type PacketOf<T extends PacketType> = Extract<Packet, { type: T }>;

/** Why a packet did not decode. */
export type PacketError =
  | { readonly reason: 'empty'; readonly message: string }
  | { readonly reason: 'unknown_type'; readonly packetType: number; readonly message: string }
  | ({ readonly packetType: number } & LayoutError);

/** What `decodePacket` returns. */
export type PacketResult =
  | { readonly ok: true; readonly packet: Packet }
  | { readonly ok: false; readonly error: PacketError };

const TYPE_BY_BYTE = new Map<number, PacketType>(
  Object.entries(PACKET_TYPES).map(([name, byte]) => [byte, name as PacketType]),
);

/**
 * Encodes a packet. Throws a RangeError for a value its layout cannot carry.
 *
 * @example encodePacket({ type: 'success', timestamp: Date.now(), message: 'job queued' })
 */
export function encodePacket(packet: Packet): Uint8Array {
  const { type, timestamp: ms, ...rest } = packet;
  if (!Number.isSafeInteger(ms) || ms < 0) throw new RangeError(`${type}.timestamp: expected ms since epoch`);
  const values = { timestamp: BigInt(ms), ...rest };
  const body = (PACKET_LAYOUTS[type] as { encode(values: unknown): Uint8Array }).encode(values);
  const out = new Uint8Array(1 + body.length);
  out[0] = PACKET_TYPES[type];
  out.set(body, 1);
  return out;
}

/** Decodes a packet; never throws. */
export function decodePacket(bytes: Uint8Array): PacketResult {
  if (bytes.length === 0) return { ok: false, error: { reason: 'empty', message: 'empty packet: no type' } };
  const packetType = bytes[0]!;
  const type = TYPE_BY_BYTE.get(packetType);
  if (!type) {
    return {
      ok: false,
      error: { reason: 'unknown_type', packetType, message: `unknown packet type ${hexByte(packetType)}` },
    };
  }
  const layout = PACKET_LAYOUTS[type] as {
    decode(
      bytes: Uint8Array,
    ): { ok: true; value: Record<string, unknown> } | { ok: false; error: LayoutError };
  };
  const decoded = layout.decode(bytes.subarray(1));
  if (!decoded.ok) {
    return {
      ok: false,
      error: { ...decoded.error, packetType, message: `${type} packet: ${decoded.error.message}` },
    };
  }
  const { timestamp: ticks, ...rest } = decoded.value;
  // Timestamps past 2^53 ms (year 287396) lose precision; nothing legitimate sends one.
  return { ok: true, packet: { type, timestamp: Number(ticks as bigint), ...rest } as Packet };
}
