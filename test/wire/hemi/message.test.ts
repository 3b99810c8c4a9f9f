import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { decodeHemiMessage, encodeHemiMessage, type HemiMessage } from '../../../src/wire/hemi/message.js';

describe('Hemi envelope', () => {
  const golden: [string, HemiMessage, string][] = [
    [
      'request with id',
      { command: 'bfgapi-ping-request', id: '1', payload: { timestamp: 1700000000 } },
      '{"header":{"command":"bfgapi-ping-request","id":"1"},"payload":{"timestamp":1700000000}}',
    ],
    [
      'notification: empty id is omitted',
      { command: 'bfgapi-btc-new-block-notification', id: '', payload: { height: 1 } },
      '{"header":{"command":"bfgapi-btc-new-block-notification"},"payload":{"height":1}}',
    ],
    [
      'null payload is written',
      { command: 'bfgapi-l2-crash-request', id: '2', payload: null },
      '{"header":{"command":"bfgapi-l2-crash-request","id":"2"},"payload":null}',
    ],
    [
      'ids and commands are JSON-escaped',
      { command: 'a"b', id: 'x\ny', payload: 'é' },
      '{"header":{"command":"a\\"b","id":"x\\ny"},"payload":"é"}',
    ],
  ];
  test.each(golden)('%s', (_name, message, frame) => {
    expect(encodeHemiMessage(message)).toBe(frame);
    expect(decodeHemiMessage(frame)).toEqual({ ok: true, message });
  });

  test('an undefined payload is written as null, as Go writes a nil RawMessage', () => {
    expect(encodeHemiMessage({ command: 'c', id: '', payload: undefined })).toBe(
      '{"header":{"command":"c"},"payload":null}',
    );
  });

  test('reads an explicit empty id as no id', () => {
    expect(decodeHemiMessage('{"header":{"command":"c","id":""},"payload":1}')).toEqual({
      ok: true,
      message: { command: 'c', id: '', payload: 1 },
    });
  });

  test('refuses an id longer than 128 characters', () => {
    const frame = JSON.stringify({ header: { command: 'c', id: 'x'.repeat(129) }, payload: null });
    expect(decodeHemiMessage(frame)).toEqual({
      ok: false,
      reason: 'malformed',
      message: 'field "header.id" must be a string of at most 128 characters',
    });
  });

  test('refuses a binary frame', () => {
    expect(decodeHemiMessage(new Uint8Array([1]))).toEqual({
      ok: false,
      reason: 'binary',
      message: 'binary frame on the Hemi wire',
    });
  });

  test('arbitrary strings never make it throw', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (frame) => {
        const result = decodeHemiMessage(frame);
        if (!result.ok) expect(result.reason).toBe('malformed');
      }),
      { numRuns: 1000 },
    );
  });

  test('message → frame → message', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1 }),
        fc.string({ maxLength: 128 }),
        fc.jsonValue(),
        (command, id, payload) => {
          const message = { command, id, payload: JSON.parse(JSON.stringify(payload)) };
          expect(decodeHemiMessage(encodeHemiMessage(message))).toEqual({ ok: true, message });
        },
      ),
    );
  });
});
