import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { DEFAULT_MAX_DEPTH } from '../../../src/wire/bounded-json.js';
import { HEMI_CLOSE_CODES } from '../../../src/wire/hemi/close-codes.js';
import { decodeHemiMessage } from '../../../src/wire/hemi/message.js';
import { hemiWire } from '../../../src/wire/hemi/wire.js';
import { deepInFrame, mutatedText, nestedJson, prototypeIsClean } from '../../support/hostile.js';
import { bfgProtocol, NOW_MS } from './fixtures.js';

const wire = hemiWire({ api: 'bfgapi', protocol: bfgProtocol, now: () => NOW_MS });

/** Frames a Hemi peer sends, as the origin writes them: the seeds of every generator below. */
const GOLDEN = [
  {
    header: { command: 'secp256k1-hello', id: 'Hello:02ab' },
    payload: { userAgent: 'popm/1', publickey: '02ab' },
  },
  {
    header: { command: 'secp256k1-hello-challenge-accepted', id: 'HelloChallengeAccepted:02ab' },
    payload: { signature: 'aa' },
  },
  { header: { command: 'bfgapi-ping-request', id: '1' }, payload: { timestamp: 1700000000 } },
  { header: { command: 'bfgapi-l2-keystones-request', id: '2' }, payload: { numL2Keystones: 3 } },
  { header: { command: 'bfgapi-btc-new-block-notification' }, payload: { height: 1, list: [{ a: [1] }] } },
];

describe('Hemi decoders refuse hostile frames with a typed result', () => {
  test('a frame nested one level past maxDepth is refused as too deep; at maxDepth it decodes', () => {
    const at = `{"header":{"command":"c"},"payload":${nestedJson(DEFAULT_MAX_DEPTH - 1)}}`;
    const past = `{"header":{"command":"c"},"payload":${nestedJson(DEFAULT_MAX_DEPTH)}}`;
    expect(decodeHemiMessage(at).ok).toBe(true);
    expect(decodeHemiMessage(past)).toEqual({
      ok: false,
      reason: 'too-deep',
      message: `nested deeper than ${DEFAULT_MAX_DEPTH} levels`,
    });
  });

  test('maxDepth is an option of the decoder and of the wire', () => {
    const frame = `{"header":{"command":"bfgapi-l2-keystones-request","id":"1"},"payload":${nestedJson(5)}}`;
    expect(decodeHemiMessage(frame, 5).ok).toBe(false);
    expect(decodeHemiMessage(frame, 6).ok).toBe(true);
    const strict = hemiWire({ api: 'bfgapi', protocol: bfgProtocol, maxDepth: 5 });
    expect(strict.decode(frame)).toEqual({
      ok: false,
      error: { code: 'INCOMPATIBLE', message: 'invalid command: nested deeper than 5 levels' },
    });
  });

  test('deep nesting in any field of any golden frame closes like any invalid command (4102)', () => {
    expect(HEMI_CLOSE_CODES.INVALID_COMMAND).toBe(4102);
    fc.assert(
      fc.property(
        fc.constantFrom(...GOLDEN).chain((golden) => deepInFrame(golden, DEFAULT_MAX_DEPTH)),
        (frame) => {
          expect(decodeHemiMessage(frame)).toMatchObject({ ok: false, reason: 'too-deep' });
          expect(wire.decode(frame)).toEqual({
            ok: false,
            error: {
              code: 'INCOMPATIBLE',
              message: `invalid command: nested deeper than ${DEFAULT_MAX_DEPTH} levels`,
            },
          });
        },
      ),
      { numRuns: 300 },
    );
  });

  test('mutations of golden frames never throw and always return a typed result', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...GOLDEN).chain((golden) => mutatedText(JSON.stringify(golden))),
        (frame) => {
          const read = decodeHemiMessage(frame);
          if (!read.ok) expect(['malformed', 'too-deep']).toContain(read.reason);
          const decoded = wire.decode(frame);
          if (!decoded.ok) expect(decoded.error.code).toBe('INCOMPATIBLE');
          else expect(typeof decoded.message.type).toBe('string');
          expect(prototypeIsClean()).toBe(true);
        },
      ),
      { numRuns: 2000 },
    );
  });

  test('arbitrary bytes and strings never throw', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary' }), fc.uint8Array()), (frame) => {
        const decoded = wire.decode(frame);
        if (!decoded.ok) expect(['INCOMPATIBLE', 'UNSUPPORTED_FRAME']).toContain(decoded.error.code);
      }),
      { numRuns: 2000 },
    );
  });

  test('__proto__ and constructor keys stay plain data and pollute no prototype', () => {
    const frame =
      '{"__proto__":{"polluted":1},"header":{"command":"bfgapi-l2-keystones-request","id":"1","__proto__":{"a":1}},"payload":{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}},"numL2Keystones":1}}';
    const decoded = wire.decode(frame);
    expect(decoded.ok).toBe(true);
    if (!decoded.ok || decoded.message.type !== 'call') throw new Error('expected a call');
    const input = decoded.message.input as Record<string, unknown>;
    expect(Object.getPrototypeOf(input)).toBe(Object.prototype);
    expect(Object.hasOwn(input, '__proto__')).toBe(true);
    expect(prototypeIsClean()).toBe(true);
  });
});
