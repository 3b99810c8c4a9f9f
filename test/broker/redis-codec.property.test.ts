import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodePayload,
  encodePayload,
  readMember,
  readPresenceChange,
  readPublicationMessage,
} from '../../src/broker/redis-codec.js';

const codecs = [
  { gzip: false, maxPayloadBytes: 1 << 20 },
  { gzip: true, maxPayloadBytes: 1 << 20 },
];

/** A reader's answer: a value, or a reason (a string); it never throws, whatever the bytes. */
function answered(read: () => { ok: true } | { ok: false; reason: string }): boolean {
  const result = read();
  return result.ok || (typeof result.reason === 'string' && result.reason.length > 0);
}

describe('the Redis broker codec', () => {
  it('reads back every JSON payload it writes, gzipped or not', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 8 }), fc.constantFrom(...codecs), (value, codec) => {
        const stored = encodePayload(value, codec);
        const read = decodePayload(Buffer.from(stored), codec);
        // JSON.stringify maps -0 to 0: compare through JSON, as a subscriber would see it.
        expect(read).toEqual({ ok: true, value: JSON.parse(JSON.stringify(value)) });
      }),
    );
  });

  it('reads a publication message it wrote, offset and payload intact', () => {
    fc.assert(
      fc.property(
        fc.uuid(),
        fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
        fc.jsonValue(),
        (epoch, offset, value) => {
          const payload = Buffer.from(encodePayload(value, codecs[0]!));
          const read = readPublicationMessage(Buffer.concat([Buffer.from(`${epoch}|${offset}|`), payload]));
          expect(
            read.ok && [read.value.epoch, read.value.offset, read.value.payload.equals(payload)],
          ).toEqual([epoch, offset, true]);
        },
      ),
    );
  });

  it('never throws on bytes another process wrote', () => {
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 200 }),
      fc.string().map((text) => new TextEncoder().encode(text)),
      fc
        .tuple(fc.string(), fc.string(), fc.uint8Array({ maxLength: 50 }))
        .map(([a, b, rest]) => Buffer.concat([Buffer.from(`${a}|${b}|`), Buffer.from([0]), rest])),
    );
    fc.assert(
      fc.property(bytes, fc.constantFrom(...codecs), (raw, codec) => {
        const buffer = Buffer.from(raw);
        expect(answered(() => readPublicationMessage(buffer))).toBe(true);
        expect(answered(() => decodePayload(buffer, codec))).toBe(true);
        expect(answered(() => readPresenceChange(buffer.toString()))).toBe(true);
        expect(answered(() => readMember(buffer.toString()))).toBe(true);
      }),
    );
  });

  it('refuses what it could not read back, before storing it', () => {
    let deep: unknown = 0;
    for (let i = 0; i < 65; i++) deep = [deep];
    expect(() => encodePayload(deep, codecs[0]!)).toThrow(
      new RangeError('payload nested deeper than 64 levels'),
    );
    expect(() => encodePayload('x'.repeat(1 << 20), codecs[0]!)).toThrow(
      new RangeError(`payload larger than ${1 << 20} bytes`),
    );
    const bomb = Buffer.concat([Buffer.from([0]), gzipSync(Buffer.alloc(2 << 20))]);
    expect(decodePayload(bomb, codecs[1]!)).toMatchObject({ ok: false });
  });
});
