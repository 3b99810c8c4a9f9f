import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { decodeJson, encodeJson } from '../../src/wire/json.js';
import type { Message } from '../../src/wire/message.js';

const TYPES = [
  'hello',
  'challenge',
  'auth',
  'welcome',
  'call',
  'result',
  'item',
  'end',
  'error',
  'cancel',
  'event',
  'ping',
  'pong',
  'goodbye',
];
const anything = fc.oneof(fc.jsonValue(), fc.constant(undefined));

/** Objects with real message types and field names but values of any type: well-formed JSON, wrong messages. */
const wrongMessage = fc
  .record(
    {
      type: fc.oneof(fc.constantFrom(...TYPES), fc.string()),
      id: anything,
      command: anything,
      input: anything,
      wire: fc.oneof(fc.constant(1), fc.jsonValue()),
      protocol: anything,
      version: anything,
      ts: anything,
      at: anything,
      code: anything,
      message: anything,
      reason: anything,
      principal: anything,
      limits: anything,
      heartbeatMs: anything,
      connectionId: anything,
    },
    { requiredKeys: [] },
  )
  .map((value) => JSON.stringify(value));

function checkOutcome(frame: string | Uint8Array): void {
  const decoded = decodeJson(frame);
  if (decoded.ok) {
    expect(TYPES).toContain(decoded.message.type);
  } else {
    expect(['BAD_MESSAGE', 'UNSUPPORTED_FRAME', 'INCOMPATIBLE']).toContain(decoded.error.code);
    expect(typeof decoded.error.message).toBe('string');
  }
}

const callId = fc.oneof(fc.maxSafeNat(), fc.string({ minLength: 1, maxLength: 128 }));
const json = fc.jsonValue();
const time = fc.double({ noNaN: true, noDefaultInfinity: true });
const wellFormed: fc.Arbitrary<Message> = fc.oneof(
  fc.record({ type: fc.constant('call'), id: callId, command: fc.string(), input: json }),
  fc.record({ type: fc.constant('result'), id: callId, output: json }),
  fc.record({ type: fc.constant('item'), id: callId, item: json }),
  fc.record({ type: fc.constant('end'), id: callId }),
  fc.record({ type: fc.constant('cancel'), id: callId }),
  fc.record({ type: fc.constant('event'), event: fc.string(), payload: json }),
  fc.record({ type: fc.constant('ping'), ts: time }),
  fc.record({ type: fc.constant('pong'), ts: time, at: time }),
  fc.record({ type: fc.constant('error'), id: callId, code: fc.string(), message: fc.string(), data: json }),
  fc.record({ type: fc.constant('goodbye'), reason: fc.string() }),
  fc.record({ type: fc.constant('hello'), protocol: fc.string(), version: fc.string() }),
) as fc.Arbitrary<Message>;

describe('the JSON wire decoder never throws', () => {
  test('on arbitrary strings', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => checkOutcome(s)),
      { numRuns: 2000 },
    );
  });

  test('on arbitrary JSON text', () => {
    fc.assert(
      fc.property(fc.json(), (s) => checkOutcome(s)),
      { numRuns: 2000 },
    );
  });

  test('on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), (bytes) => checkOutcome(bytes)),
      { numRuns: 1000 },
    );
  });

  test('on well-formed JSON that is the wrong message', () => {
    fc.assert(
      fc.property(wrongMessage, (s) => checkOutcome(s)),
      { numRuns: 3000 },
    );
  });

  test('and decodes what it encodes to an equal message', () => {
    fc.assert(
      fc.property(wellFormed, (message) => {
        // JSON has no -0; the wire carries it as 0.
        const expected = JSON.parse(JSON.stringify(message));
        expect(decodeJson(encodeJson(message))).toEqual({ ok: true, message: expected });
      }),
      { numRuns: 2000 },
    );
  });
});
