import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { jobQueueBinding } from '../../../examples/job-queue/fetchml/binding.js';
import type { Field, Layout } from '../../../src/wire/fetchml/layout.js';
import { OPCODES, type OperationName, REQUEST_LAYOUTS } from '../../../src/wire/fetchml/opcodes.js';
import {
  decodePacket,
  encodePacket,
  PACKET_LAYOUTS,
  PACKET_TYPES,
  type Packet,
} from '../../../src/wire/fetchml/packets.js';
import { decodeRequest, encodeRequest } from '../../../src/wire/fetchml/request.js';
import { fetchmlWire } from '../../../src/wire/fetchml/wire.js';

const PREFIX_MAX = { 1: 0xff, 2: 0xffff, 4: 0x1_0000 } as const;

/** Values for one field, over its whole range (long bodies capped to keep runs fast). */
function arbitraryOf(f: Field): fc.Arbitrary<unknown> {
  switch (f.kind) {
    case 'uint':
      return fc.integer({ min: 0, max: f.bytes === 4 ? 0xffff_ffff : f.bytes === 2 ? 0xffff : 0xff });
    case 'u64':
      return fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
    case 'f64':
      return fc.double({ noNaN: true });
    case 'bytes':
      return fc.uint8Array({ minLength: f.bytes, maxLength: f.bytes });
    case 'hex':
      return fc
        .uint8Array({ minLength: f.bytes, maxLength: f.bytes })
        .map((b) => Buffer.from(b).toString('hex'));
    case 'string':
      // Any string whose UTF-8 fits the prefix: lone surrogates are excluded, UTF-8 cannot carry them.
      return fc
        .string({ unit: 'grapheme', maxLength: Math.min(PREFIX_MAX[f.prefix], 300) })
        .filter((s) => Buffer.byteLength(s) <= PREFIX_MAX[f.prefix]);
    case 'blob':
      return fc.uint8Array({ maxLength: Math.min(PREFIX_MAX[f.prefix], 300) });
  }
}

/** Values for a whole layout; optional trailing fields present for a random prefix of them. */
function valuesOf(l: Layout): fc.Arbitrary<Record<string, unknown>> {
  const required = l.fields.filter((f) => !f.optional);
  const optionals = l.fields.filter((f) => f.optional);
  return fc
    .tuple(
      fc.tuple(...required.map(arbitraryOf)),
      fc.tuple(...optionals.map(arbitraryOf)),
      fc.integer({ min: 0, max: optionals.length }),
    )
    .map(([req, opt, present]) => {
      const values: Record<string, unknown> = {};
      required.forEach((f, i) => {
        values[f.name] = req[i];
      });
      optionals.slice(0, present).forEach((f, i) => {
        values[f.name] = opt[i];
      });
      return values;
    });
}

const operations = Object.keys(OPCODES) as OperationName[];
const packetTypes = Object.keys(PACKET_TYPES) as (keyof typeof PACKET_TYPES)[];
const anyBytes = fc.uint8Array({ maxLength: 256 });
/** Bytes that start with a known opcode or packet type, so the layouts themselves get exercised. */
const framed = (codes: number[]) =>
  fc.tuple(fc.constantFrom(...codes), anyBytes).map(([code, rest]) => Uint8Array.from([code, ...rest]));

describe('decoders never throw, whatever the bytes', () => {
  test('decodeRequest returns a result for arbitrary bytes and for frames with a known opcode', () => {
    fc.assert(
      fc.property(fc.oneof(anyBytes, framed(Object.values(OPCODES))), (frame) => {
        const decoded = decodeRequest(frame);
        expect(typeof decoded.ok).toBe('boolean');
        if (!decoded.ok) expect(decoded.error.message).toEqual(expect.any(String));
      }),
      { numRuns: 2000 },
    );
  });

  test('decodePacket returns a result for arbitrary bytes and for bytes with a known packet type', () => {
    fc.assert(
      fc.property(fc.oneof(anyBytes, framed(Object.values(PACKET_TYPES))), (bytes) => {
        const decoded = decodePacket(bytes);
        expect(typeof decoded.ok).toBe('boolean');
      }),
      { numRuns: 2000 },
    );
  });

  test("the WireFormat's decode returns a message or a WireError for bytes and for text", () => {
    const wire = fetchmlWire({ binding: jobQueueBinding });
    fc.assert(
      fc.property(fc.oneof(anyBytes, framed(Object.values(OPCODES)), fc.string()), (frame) => {
        const decoded = wire.decode(frame);
        if (decoded.ok) expect(['call', 'cancel']).toContain(decoded.message.type);
        else expect(['BAD_MESSAGE', 'UNSUPPORTED_FRAME']).toContain(decoded.error.code);
      }),
      { numRuns: 2000 },
    );
  });

  test.each(operations)(
    'cutting or extending a valid %s frame gives an error, never an exception',
    (operation) => {
      fc.assert(
        fc.property(valuesOf(REQUEST_LAYOUTS[operation]), anyBytes, fc.nat(), (values, extra, cut) => {
          const frame = encodeRequest(operation, values as never);
          const shorter = frame.subarray(0, cut % frame.length);
          const longer = Uint8Array.from([...frame, ...extra]);
          for (const bytes of [shorter, longer]) expect(typeof decodeRequest(bytes).ok).toBe('boolean');
        }),
        { numRuns: 100 },
      );
    },
  );
});

describe('round trips', () => {
  test.each(operations)('%s: decode(encode(fields)) gives the fields back', (operation) => {
    fc.assert(
      fc.property(valuesOf(REQUEST_LAYOUTS[operation]), (values) => {
        const decoded = decodeRequest(encodeRequest(operation, values as never));
        expect(decoded).toEqual({
          ok: true,
          request: { operation, opcode: OPCODES[operation], fields: values },
        });
      }),
      { numRuns: 200 },
    );
  });

  test.each(packetTypes)('%s packets: decode(encode(packet)) gives the packet back', (type) => {
    const withoutTimestamp = {
      ...PACKET_LAYOUTS[type],
      fields: PACKET_LAYOUTS[type].fields.slice(1),
    } as Layout;
    fc.assert(
      fc.property(
        valuesOf(withoutTimestamp),
        fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
        (values, at) => {
          const packet = { type, timestamp: at, ...values } as Packet;
          expect(decodePacket(encodePacket(packet))).toEqual({ ok: true, packet });
        },
      ),
      { numRuns: 200 },
    );
  });

  test('every layout re-encodes what it decoded to the same bytes', () => {
    const layouts = [...Object.values(REQUEST_LAYOUTS), ...Object.values(PACKET_LAYOUTS)] as Layout[];
    fc.assert(
      fc.property(fc.constantFrom(...layouts), anyBytes, (l, bytes) => {
        const decoded = l.decode(bytes);
        // NaN has many bit patterns and encodes as one: the only value that does not come back bit for bit.
        const hasNaN = decoded.ok && Object.values(decoded.value).some((v) => Number.isNaN(v));
        if (decoded.ok && !hasNaN)
          expect(Buffer.from(l.encode(decoded.value as never))).toEqual(Buffer.from(bytes));
      }),
      { numRuns: 3000 },
    );
  });
});
