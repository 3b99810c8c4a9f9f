/**
 * A declarative binary layout: a message is an ordered list of fields, and encoding, decoding and the
 * minimum-size check are all derived from that list. No message of the fetch_ml wire is parsed by hand.
 *
 * Integers are big-endian (Go's `encoding/binary.BigEndian`, which the seed imports). Length prefixes
 * count bytes, not characters. Optional fields may only trail: once one is absent, all later ones are.
 */

/** Widths a length prefix may have, in bytes. */
export type PrefixWidth = 1 | 2 | 4;

interface FieldBase<N extends string, V, O extends boolean> {
  readonly name: N;
  readonly optional: O;
  /** Type-only: the decoded value's type. */
  readonly __value?: V;
}

/** An unsigned big-endian integer of 1, 2 or 4 bytes, decoded as a number. */
export interface UintField<N extends string = string, O extends boolean = boolean>
  extends FieldBase<N, number, O> {
  readonly kind: 'uint';
  readonly bytes: 1 | 2 | 4;
}

/** An unsigned big-endian 64-bit integer, decoded as a bigint (it may exceed 2^53). */
export interface U64Field<N extends string = string, O extends boolean = boolean>
  extends FieldBase<N, bigint, O> {
  readonly kind: 'u64';
}

/** An IEEE 754 double, big-endian (the seed's metric `value:8`). */
export interface F64Field<N extends string = string, O extends boolean = boolean>
  extends FieldBase<N, number, O> {
  readonly kind: 'f64';
}

/** A fixed number of raw bytes (the 16-byte key hash). */
export interface BytesField<N extends string = string, O extends boolean = boolean>
  extends FieldBase<N, Uint8Array, O> {
  readonly kind: 'bytes';
  readonly bytes: number;
}

/** A fixed number of raw bytes shown as lowercase hex (the 20-byte commit id as 40 chars). */
export interface HexField<N extends string = string, O extends boolean = boolean>
  extends FieldBase<N, string, O> {
  readonly kind: 'hex';
  readonly bytes: number;
}

/** UTF-8 text after a 1-, 2- or 4-byte length prefix. */
export interface StringField<N extends string = string, O extends boolean = boolean>
  extends FieldBase<N, string, O> {
  readonly kind: 'string';
  readonly prefix: PrefixWidth;
}

/** Raw bytes after a 1-, 2- or 4-byte length prefix. */
export interface BlobField<N extends string = string, O extends boolean = boolean>
  extends FieldBase<N, Uint8Array, O> {
  readonly kind: 'blob';
  readonly prefix: PrefixWidth;
}

/** One field of a layout. */
export type Field<N extends string = string, O extends boolean = boolean> =
  | UintField<N, O>
  | U64Field<N, O>
  | F64Field<N, O>
  | BytesField<N, O>
  | HexField<N, O>
  | StringField<N, O>
  | BlobField<N, O>;

type ValueOf<F> = F extends FieldBase<string, infer V, boolean> ? V : never;

/** The decoded object of a field list: required fields as properties, optional ones as optional properties. */
export type ValuesOf<F extends readonly Field[]> = Simplify<
  { [K in F[number] as K['optional'] extends true ? never : K['name']]: ValueOf<K> } & {
    [K in F[number] as K['optional'] extends true ? K['name'] : never]?: ValueOf<K>;
  }
>;

type Simplify<T> = { [K in keyof T]: T[K] } & {};

/** Field constructors. @example const job = [field.hex('commit_id', 20), field.u8('priority'), field.string('job_name', 1)]; */
export const field = {
  u8: <const N extends string>(name: N): UintField<N, false> => uint(name, 1),
  u16: <const N extends string>(name: N): UintField<N, false> => uint(name, 2),
  u32: <const N extends string>(name: N): UintField<N, false> => uint(name, 4),
  u64: <const N extends string>(name: N): U64Field<N, false> => ({ kind: 'u64', name, optional: false }),
  f64: <const N extends string>(name: N): F64Field<N, false> => ({ kind: 'f64', name, optional: false }),
  bytes: <const N extends string>(name: N, bytes: number): BytesField<N, false> => ({
    kind: 'bytes',
    name,
    bytes,
    optional: false,
  }),
  hex: <const N extends string>(name: N, bytes: number): HexField<N, false> => ({
    kind: 'hex',
    name,
    bytes,
    optional: false,
  }),
  string: <const N extends string>(name: N, prefix: PrefixWidth): StringField<N, false> => ({
    kind: 'string',
    name,
    prefix,
    optional: false,
  }),
  blob: <const N extends string>(name: N, prefix: PrefixWidth): BlobField<N, false> => ({
    kind: 'blob',
    name,
    prefix,
    optional: false,
  }),
};

function uint<N extends string>(name: N, bytes: 1 | 2 | 4): UintField<N, false> {
  return { kind: 'uint', name, bytes, optional: false };
}

/** Marks a field optional: present when bytes remain, absent when the payload ends before it. */
export function optional<F extends Field<string, false>>(
  f: F,
): Omit<F, 'optional'> & { readonly optional: true } {
  return { ...f, optional: true };
}

/**
 * Why bytes did not decode. Never thrown: decoders return it.
 * `short`: below the layout's minimum size (the seed's `ProtocolMin…` check);
 * `truncated`: a field (or the body a length prefix announces) runs past the end;
 * `overlong`: bytes left after the last field; `invalid`: bytes that are not a valid value (bad UTF-8).
 */
export interface LayoutError {
  readonly reason: 'short' | 'truncated' | 'overlong' | 'invalid';
  /** The field that could not be read (for `overlong`, the last field). */
  readonly field: string;
  /** Where that field starts, from the start of the decoded bytes. */
  readonly offset: number;
  readonly message: string;
}

/** What `decode` returns: the values, or why the bytes are not a valid message. */
export type LayoutResult<V> =
  | { readonly ok: true; readonly value: V }
  | { readonly ok: false; readonly error: LayoutError };

/** A message's layout: its fields, and everything derived from them. */
export interface Layout<F extends readonly Field[] = readonly Field[]> {
  readonly name: string;
  readonly fields: F;
  /** Bytes the shortest valid message takes: every required fixed field and length prefix, empty bodies. */
  readonly minSize: number;
  /** Bytes the longest valid message takes, or undefined when a length-prefixed field makes it unbounded-ish. */
  readonly maxSize: number | undefined;
  /** Encodes values; throws a RangeError naming the field for a value the layout cannot carry (a caller bug). */
  encode(values: ValuesOf<F>): Uint8Array;
  /** Decodes the whole of `bytes`; never throws. */
  decode(bytes: Uint8Array): LayoutResult<ValuesOf<F>>;
}

const UTF8 = new TextEncoder();
const UTF8_STRICT = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const MAX_BY_PREFIX: Record<PrefixWidth, number> = { 1: 0xff, 2: 0xffff, 4: 0xffff_ffff };
const MAX_U64 = (1n << 64n) - 1n;

/** The fixed part of a field: its whole width, or its length prefix. */
function fixedWidth(f: Field): number {
  switch (f.kind) {
    case 'uint':
      return f.bytes;
    case 'u64':
    case 'f64':
      return 8;
    case 'bytes':
    case 'hex':
      return f.bytes;
    case 'string':
    case 'blob':
      return f.prefix;
  }
}

/**
 * Builds a layout from its fields.
 *
 * @example
 * const prune = layout('prune', [field.u8('prune_type'), field.u32('value')]);
 * prune.minSize; // 5
 * prune.decode(new Uint8Array([0, 0, 0, 0, 3])); // { ok: true, value: { prune_type: 0, value: 3 } }
 */
export function layout<const F extends readonly Field[]>(name: string, fields: F): Layout<F> {
  const seen = new Set<string>();
  let optionalSeen = false;
  for (const f of fields) {
    if (seen.has(f.name)) throw new TypeError(`layout ${name}: field ${f.name} appears twice`);
    seen.add(f.name);
    if (f.optional) optionalSeen = true;
    else if (optionalSeen)
      throw new TypeError(`layout ${name}: required field ${f.name} after an optional one`);
    if ((f.kind === 'bytes' || f.kind === 'hex') && !(Number.isInteger(f.bytes) && f.bytes > 0)) {
      throw new TypeError(`layout ${name}: field ${f.name} needs a positive byte count`);
    }
  }
  const minSize = fields.reduce((sum, f) => sum + (f.optional ? 0 : fixedWidth(f)), 0);
  const bounded = fields.every((f) => f.kind !== 'string' && f.kind !== 'blob');
  const maxSize = bounded ? fields.reduce((sum, f) => sum + fixedWidth(f), 0) : undefined;
  return {
    name,
    fields,
    minSize,
    maxSize,
    encode: (values) => encodeFields(name, fields, values as Record<string, unknown>),
    decode: (bytes) => decodeFields(fields, minSize, bytes) as LayoutResult<ValuesOf<F>>,
  };
}

function encodeFields(name: string, fields: readonly Field[], values: Record<string, unknown>): Uint8Array {
  const parts: Uint8Array[] = [];
  let size = 0;
  let absent: string | undefined;
  for (const f of fields) {
    const value = values[f.name];
    if (value === undefined) {
      if (!f.optional) throw new RangeError(`${name}.${f.name}: missing`);
      absent ??= f.name;
      continue;
    }
    if (absent !== undefined) {
      throw new RangeError(
        `${name}.${f.name}: cannot be sent without the optional field ${absent} before it`,
      );
    }
    const part = encodeField(`${name}.${f.name}`, f, value);
    parts.push(part);
    size += part.length;
  }
  const out = new Uint8Array(size);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

function encodeField(path: string, f: Field, value: unknown): Uint8Array {
  switch (f.kind) {
    case 'uint': {
      const max = MAX_BY_PREFIX[f.bytes];
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) {
        throw new RangeError(`${path}: expected an integer in 0..${max}`);
      }
      const out = new Uint8Array(f.bytes);
      writeUint(out, 0, f.bytes, value);
      return out;
    }
    case 'u64': {
      if (typeof value !== 'bigint' || value < 0n || value > MAX_U64) {
        throw new RangeError(`${path}: expected a bigint in 0..2^64-1`);
      }
      const out = new Uint8Array(8);
      new DataView(out.buffer).setBigUint64(0, value);
      return out;
    }
    case 'f64': {
      if (typeof value !== 'number') throw new RangeError(`${path}: expected a number`);
      const out = new Uint8Array(8);
      new DataView(out.buffer).setFloat64(0, value);
      return out;
    }
    case 'bytes':
      if (!(value instanceof Uint8Array) || value.length !== f.bytes) {
        throw new RangeError(`${path}: expected ${f.bytes} bytes`);
      }
      return value;
    case 'hex': {
      const pattern = new RegExp(`^[0-9a-fA-F]{${f.bytes * 2}}$`);
      if (typeof value !== 'string' || !pattern.test(value)) {
        throw new RangeError(`${path}: expected ${f.bytes * 2} hex characters`);
      }
      const out = new Uint8Array(f.bytes);
      for (let i = 0; i < f.bytes; i++) out[i] = Number.parseInt(value.slice(i * 2, i * 2 + 2), 16);
      return out;
    }
    case 'string':
    case 'blob': {
      let body: Uint8Array;
      if (f.kind === 'string') {
        if (typeof value !== 'string') throw new RangeError(`${path}: expected a string`);
        body = UTF8.encode(value);
      } else {
        if (!(value instanceof Uint8Array)) throw new RangeError(`${path}: expected bytes`);
        body = value;
      }
      const max = MAX_BY_PREFIX[f.prefix];
      if (body.length > max) {
        throw new RangeError(
          `${path}: ${body.length} bytes do not fit a ${f.prefix}-byte length (max ${max})`,
        );
      }
      const out = new Uint8Array(f.prefix + body.length);
      writeUint(out, 0, f.prefix, body.length);
      out.set(body, f.prefix);
      return out;
    }
  }
}

function decodeFields(
  fields: readonly Field[],
  minSize: number,
  bytes: Uint8Array,
): LayoutResult<Record<string, unknown>> {
  if (bytes.length < minSize) {
    // Name the first required field that does not fit, as a reader of the seed's check would.
    let offset = 0;
    for (const f of fields) {
      const width = fixedWidth(f);
      if (!f.optional && offset + width > bytes.length) {
        return fail(
          'short',
          f.name,
          offset,
          `${bytes.length} bytes, at least ${minSize} needed: no room for ${f.name}`,
        );
      }
      offset += f.optional ? 0 : width;
    }
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const values: Record<string, unknown> = {};
  let offset = 0;
  for (const f of fields) {
    const left = bytes.length - offset;
    if (f.optional && left === 0) break;
    const width = fixedWidth(f);
    if (width > left) {
      return fail('truncated', f.name, offset, `${f.name} needs ${width} bytes, ${left} left`);
    }
    switch (f.kind) {
      case 'uint':
        values[f.name] = readUint(view, offset, f.bytes);
        offset += f.bytes;
        break;
      case 'u64':
        values[f.name] = view.getBigUint64(offset);
        offset += 8;
        break;
      case 'f64':
        values[f.name] = view.getFloat64(offset);
        offset += 8;
        break;
      case 'bytes':
        values[f.name] = bytes.slice(offset, offset + f.bytes);
        offset += f.bytes;
        break;
      case 'hex':
        values[f.name] = toHex(bytes.subarray(offset, offset + f.bytes));
        offset += f.bytes;
        break;
      case 'string':
      case 'blob': {
        const length = readUint(view, offset, f.prefix);
        const start = offset + f.prefix;
        if (start + length > bytes.length) {
          return fail(
            'truncated',
            f.name,
            offset,
            `${f.name} announces ${length} bytes, ${bytes.length - start} left`,
          );
        }
        const body = bytes.subarray(start, start + length);
        if (f.kind === 'blob') values[f.name] = body.slice();
        else {
          try {
            values[f.name] = UTF8_STRICT.decode(body);
          } catch {
            return fail('invalid', f.name, offset, `${f.name} is not valid UTF-8`);
          }
        }
        offset = start + length;
        break;
      }
    }
  }
  if (offset < bytes.length) {
    const last = fields[fields.length - 1]?.name ?? '(start)';
    return fail('overlong', last, offset, `${bytes.length - offset} bytes left after ${last}`);
  }
  return { ok: true, value: values };
}

function fail(reason: LayoutError['reason'], fieldName: string, offset: number, message: string) {
  return { ok: false as const, error: { reason, field: fieldName, offset, message } };
}

function readUint(view: DataView, offset: number, width: 1 | 2 | 4): number {
  if (width === 1) return view.getUint8(offset);
  if (width === 2) return view.getUint16(offset);
  return view.getUint32(offset);
}

function writeUint(out: Uint8Array, offset: number, width: 1 | 2 | 4, value: number): void {
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  if (width === 1) view.setUint8(offset, value);
  else if (width === 2) view.setUint16(offset, value);
  else view.setUint32(offset, value);
}

/** Lowercase hex of bytes. */
export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (const byte of bytes) out += byte.toString(16).padStart(2, '0');
  return out;
}
