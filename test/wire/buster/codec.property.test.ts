import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  decodeRequest,
  decodeResponse,
  encodeRequest,
  encodeResponse,
  WS_SEND_METHODS,
  type WsErrorCode,
  type WsResponseMessage,
} from '../../../src/wire/buster/index.js';

const json = fc.jsonValue();
const codes: WsErrorCode[] = ['INTERNAL_SERVER_ERROR', 'NOT_FOUND', 'UNAUTHORIZED', 'BAD_REQUEST'];
const response: fc.Arbitrary<WsResponseMessage> = fc.record({
  route: fc.string(),
  event: fc.string(),
  payload: json,
  sent_by: fc.option(fc.record({ id: fc.string(), name: fc.string() }), { nil: null }),
  error: fc.option(fc.record({ code: fc.constantFrom(...codes), message: fc.string() }), { nil: null }),
  send_method: fc.constantFrom(...WS_SEND_METHODS),
});

/** JSON has no -0: it reads back as 0. */
const normalise = (value: unknown) => JSON.parse(JSON.stringify(value));

describe('the Buster codec never throws', () => {
  test('decodeRequest and decodeResponse return a typed result for any string', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json(), fc.string({ unit: 'binary' })), (text) => {
        const request = decodeRequest(text);
        const reply = decodeResponse(text);
        expect(typeof request.ok).toBe('boolean');
        expect(typeof reply.ok).toBe('boolean');
        if (!request.ok) expect(request.error.code).toBe('BAD_MESSAGE');
      }),
      { numRuns: 2000 },
    );
  });

  test('decodeRequest and decodeResponse return a typed result for any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), (bytes) => {
        expect(decodeRequest(bytes)).toMatchObject({ ok: false, error: { code: 'UNSUPPORTED_FRAME' } });
        expect(typeof decodeResponse(bytes).ok).toBe('boolean');
      }),
      { numRuns: 2000 },
    );
  });

  test('objects of any shape with a route field decode or fail with BAD_MESSAGE', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.constantFrom('route', 'payload', 'event', 'send_method', 'sent_by', 'error'), json),
        (value) => {
          const text = JSON.stringify(value);
          const request = decodeRequest(text);
          if (request.ok) expect(request.request.route).toBe(value.route);
          else expect(request.error.code).toBe('BAD_MESSAGE');
          const reply = decodeResponse(text);
          if (!reply.ok) expect(reply.error.code).toBe('BAD_MESSAGE');
        },
      ),
      { numRuns: 2000 },
    );
  });

  test('encodeResponse never throws, whatever the payload', () => {
    fc.assert(
      fc.property(
        response,
        fc.anything({ withBigInt: true, withMap: true, withSet: true }),
        (message, payload) => {
          const text = encodeResponse({ ...message, payload });
          expect(decodeResponse(text).ok).toBe(true);
        },
      ),
    );
  });
});

describe('round trips', () => {
  test('decodeResponse(encodeResponse(m)) is m', () => {
    fc.assert(
      fc.property(response, (message) => {
        expect(decodeResponse(encodeResponse(message))).toEqual({ ok: true, response: normalise(message) });
      }),
      { numRuns: 1000 },
    );
  });

  test('decodeRequest(encodeRequest(r)) is r', () => {
    fc.assert(
      fc.property(fc.record({ route: fc.string(), payload: json }), (request) => {
        expect(decodeRequest(encodeRequest(request))).toEqual({ ok: true, request: normalise(request) });
      }),
      { numRuns: 1000 },
    );
  });
});
