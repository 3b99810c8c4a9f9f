/** Deeply nested goval frames, built without recursion: shared by the decoder and real-socket tests. */

/** A protobuf varint. */
export function varint(value: number): number[] {
  const out: number[] = [];
  while (value > 0x7f) {
    out.push((value & 0x7f) | 0x80);
    value >>>= 7;
  }
  out.push(value);
  return out;
}

const VCR_LOG = 233; // Command.VCRLog
const VCR_LOG_ENTRIES = 1; // VCRLog.log
const VCR_ENTRY_COMMAND = 3; // VCREntry.command

/**
 * A Command holding a VCRLog whose entry holds a Command holding a VCRLog… `levels` times: the one
 * recursive path in goval's api.proto. Built from the inside out, each level one prefix (tag and
 * length) before the bytes it wraps, so the cost stays linear in the frame's size.
 */
export function nestedCommands(levels: number): Uint8Array {
  const inner = [...varint((1000 << 3) | 2), 4, ...new TextEncoder().encode('deep')]; // Command.ref = "deep"
  const prefixes: number[][] = [];
  let length = inner.length;
  for (let i = 0; i < levels; i++) {
    for (const number of [VCR_ENTRY_COMMAND, VCR_LOG_ENTRIES, VCR_LOG]) {
      const prefix = [...varint((number << 3) | 2), ...varint(length)];
      prefixes.push(prefix);
      length += prefix.length;
    }
  }
  const out = new Uint8Array(length);
  let at = 0;
  for (let i = prefixes.length - 1; i >= 0; i--) {
    out.set(prefixes[i]!, at);
    at += prefixes[i]!.length;
  }
  out.set(inner, at);
  return out;
}

/** An unknown field (number 9999) opening `levels` nested groups: skipped, so walked without a schema. */
export function nestedGroups(levels: number): Uint8Array {
  const start = varint((9999 << 3) | 3);
  const end = varint((9999 << 3) | 4);
  const out: number[] = [];
  for (let i = 0; i < levels; i++) out.push(...start);
  for (let i = 0; i < levels; i++) out.push(...end);
  return Uint8Array.from(out);
}
