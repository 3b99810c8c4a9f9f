import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { DEFAULT_MAX_DEPTH } from '../../../src/wire/bounded-json.js';
import { decodeCommand, govalWire } from '../../../src/wire/goval/index.js';
import { mutatedBytes, prototypeIsClean } from '../../support/hostile.js';
import { nestedCommands, nestedGroups } from './deep-frames.js';
import { theirFrame } from './interop.js';

const GOLDEN = [
  theirFrame({ ref: 'k3x9', openChan: { service: 'chat', name: 'general', action: 2 } }),
  theirFrame({ channel: 3, ref: 'o', ot: { version: 4, op: [{ skip: 2 }, { insert: 'é🙂' }], crc32: 7 } }),
  theirFrame({ channel: 5, ref: 'x', exec: { args: ['echo', 'hi'], env: { A: '1', __proto__: 'x' } } }),
  theirFrame({ channel: 2, ref: 'q', write: { path: 'a.txt', content: Buffer.from('hi') } }),
  theirFrame({ channel: 0, ref: 'p', ping: {} }),
];

describe('goval decoding is bounded', () => {
  // Each VCR level is three messages deep (Command → VCRLog → VCREntry → Command).
  const levelsWithin = Math.floor((DEFAULT_MAX_DEPTH - 1) / 3);

  test('Commands nested within maxDepth decode; past it they are refused before the stack is at risk', () => {
    expect(decodeCommand(nestedCommands(levelsWithin)).ok).toBe(true);
    expect(decodeCommand(nestedCommands(levelsWithin + 1))).toEqual({
      ok: false,
      // Level 64 is the 22nd Command; the VCRLog inside it would be level 65.
      message: `cannot decode message api.VCRLog from binary: maximum recursion depth of ${DEFAULT_MAX_DEPTH} reached`,
    });
    // 20,000 levels: a frame of about 220 KB that a decoder without a limit would recurse into.
    expect(decodeCommand(nestedCommands(20_000))).toMatchObject({ ok: false });
  });

  test('maxDepth is an option of the codec and of the wire', () => {
    expect(decodeCommand(nestedCommands(2), 6).ok).toBe(false);
    expect(decodeCommand(nestedCommands(2), 7).ok).toBe(true);
    expect(govalWire({ maxDepth: 6 }).decode(nestedCommands(2))).toEqual({
      ok: false,
      error: {
        code: 'BAD_MESSAGE',
        message:
          'not a goval Command: cannot decode message api.Command from binary: maximum recursion depth of 6 reached',
      },
    });
  });

  test('unknown fields opening nested groups are skipped within the same budget', () => {
    expect(decodeCommand(nestedGroups(10)).ok).toBe(true);
    expect(decodeCommand(nestedGroups(100_000))).toEqual({
      ok: false,
      message: 'maximum recursion depth reached',
    });
  });

  test('a deep frame on the wire is BAD_MESSAGE, like any undecodable frame', () => {
    const wire = govalWire();
    for (const frame of [nestedCommands(20_000), nestedGroups(100_000)]) {
      const decoded = wire.decode(frame);
      expect(decoded).toMatchObject({ ok: false, error: { code: 'BAD_MESSAGE' } });
      if (!decoded.ok)
        expect(decoded.error.message).toMatch(/^not a goval Command: .*maximum recursion depth/);
    }
  });

  test('mutations of golden frames never throw and return a typed result', () => {
    const wire = govalWire();
    fc.assert(
      fc.property(
        fc.constantFrom(...GOLDEN).chain((golden) => mutatedBytes(golden)),
        (frame) => {
          const decoded = wire.decode(frame);
          if (!decoded.ok) expect(decoded.error.code).toBe('BAD_MESSAGE');
          else expect(typeof decoded.message.type).toBe('string');
          expect(prototypeIsClean()).toBe(true);
        },
      ),
      { numRuns: 3000 },
    );
  });

  test('a map key "__proto__" stays a plain entry', () => {
    const decoded = govalWire().decode(
      theirFrame({
        channel: 5,
        ref: 'x',
        exec: { args: ['echo'], env: { ['__proto__']: 'x', constructor: 'y' } },
      }),
    );
    expect(decoded.ok).toBe(true);
    expect(prototypeIsClean()).toBe(true);
  });
});
