import fc from 'fast-check';
import { expect, test } from 'vitest';
import {
  decodeFrame,
  encodeFrame,
  FIELD_ORDER,
  FRAME_TYPES,
  type Frame,
} from '../../../src/wire/sandbox-sync/index.js';

/** Every key a frame may hold, in all its spellings, so generated objects reach every branch. */
const KEYS = [...FIELD_ORDER, ...FIELD_ORDER.map((field) => field.toUpperCase()), 'extra'];
const anyJson = fc.jsonValue({ maxDepth: 3 });

const frameish = fc.dictionary(
  fc.constantFrom(...KEYS),
  fc.oneof(
    anyJson,
    fc.constantFrom(...FRAME_TYPES),
    fc.array(fc.dictionary(fc.constantFrom(...KEYS), anyJson, { maxKeys: 4 }), { maxLength: 3 }),
  ),
  { maxKeys: 8 },
);

test('decodeFrame never throws on arbitrary strings', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (text) => {
      const decoded = decodeFrame(text);
      expect(typeof decoded.ok).toBe('boolean');
    }),
    { numRuns: 2000 },
  );
});

test('decodeFrame never throws on arbitrary bytes', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      expect(typeof decodeFrame(bytes).ok).toBe('boolean');
    }),
    { numRuns: 2000 },
  );
});

test('decodeFrame never throws on JSON objects shaped like frames, and what it accepts re-encodes stably', () => {
  fc.assert(
    fc.property(frameish, (object) => {
      const decoded = decodeFrame(JSON.stringify(object));
      if (!decoded.ok) {
        expect(['BAD_FRAME', 'UNKNOWN_TYPE']).toContain(decoded.error.code);
        return;
      }
      const text = encodeFrame(decoded.frame);
      const again = decodeFrame(text);
      expect(again).toEqual(decoded);
      if (again.ok) expect(encodeFrame(again.frame)).toBe(text);
    }),
    { numRuns: 2000 },
  );
});

const text = fc.string({ maxLength: 20 });
const item = fc.record(
  {
    type: fc.constantFrom('', 'template_sync'),
    tokenHash: text,
    name: text,
    user: text,
    templateFull: fc.dictionary(fc.string({ maxLength: 5 }), fc.jsonValue({ maxDepth: 2 })),
  },
  { requiredKeys: ['type'] },
);
const frame: fc.Arbitrary<Frame> = fc.record(
  {
    type: fc.constantFrom(...FRAME_TYPES),
    id: fc.uuid(),
    tokenHash: text,
    hashPrefix: text,
    name: text,
    namespace: text,
    role: text,
    user: text,
    team: text,
    quotaURL: text,
    description: text,
    issuedAt: text,
    expiresAt: text,
    items: fc.array(item, { maxLength: 3 }),
    ok: fc.boolean(),
    rawToken: text,
    keyId: text,
    error: text,
    httpStatus: fc.integer({ min: -1000, max: 1000 }),
    templateFull: fc.dictionary(fc.string({ maxLength: 5 }), fc.jsonValue({ maxDepth: 2 })),
    configSnapshot: fc.record({ clusters: fc.array(fc.record({ id: text, url: text }), { maxLength: 2 }) }),
  },
  { requiredKeys: ['type'] },
);

/** What Go would read back: zero values are indistinguishable from absent ones. */
function withoutZeros(value: Frame): Frame {
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) {
    if (key === 'type') out.type = field;
    // Raw JSON goes through JSON text: -0 comes back as 0.
    else if (key === 'templateFull' || key === 'configSnapshot') out[key] = JSON.parse(JSON.stringify(field));
    else if (key === 'items') {
      if ((field as Frame[]).length) out.items = (field as Frame[]).map(withoutZeros);
    } else if (field !== '' && field !== false && field !== 0 && field !== undefined) out[key] = field;
  }
  return out as unknown as Frame;
}

test('decodeFrame(encodeFrame(frame)) is the frame without its zero values', () => {
  fc.assert(
    fc.property(frame, (value) => {
      const decoded = decodeFrame(encodeFrame(value));
      expect(decoded).toEqual({ ok: true, frame: withoutZeros(value) });
    }),
    { numRuns: 1000 },
  );
});

test('encodeFrame writes the fields in Go struct order and ends with a newline', () => {
  fc.assert(
    fc.property(frame, (value) => {
      const encoded = encodeFrame(value);
      expect(encoded.endsWith('}\n')).toBe(true);
      const keys = Object.keys(JSON.parse(encoded) as object);
      const order = keys.map((key) => FIELD_ORDER.indexOf(key as (typeof FIELD_ORDER)[number]));
      expect(order).toEqual([...order].sort((a, b) => a - b));
      expect(encoded).not.toMatch(/[<>&\u2028\u2029]/);
    }),
    { numRuns: 1000 },
  );
});
