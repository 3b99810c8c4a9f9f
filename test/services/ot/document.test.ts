import { crc32 as zlibCrc32 } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { apply, crc32, OtDocument, OtError } from '../../../src/services/ot/index.js';
import { build, pieces, text } from './arbitraries.js';

function codeOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(OtError);
    return `${(error as OtError).code}: ${(error as OtError).message}`;
  }
  throw new Error('expected an OtError');
}

describe('crc32', () => {
  it('is the unsigned IEEE CRC-32 of the UTF-8 bytes', () => {
    expect(crc32('')).toBe(0);
    expect(crc32('hello')).toBe(907060870);
    expect(crc32('héllo 😀')).toBe(2368154674);
    expect(crc32('The quick brown fox jumps over the lazy dog')).toBe(0x414fa339);
  });

  it('agrees with zlib for any text', () => {
    fc.assert(
      fc.property(fc.oneof(text(40), fc.string({ unit: 'grapheme' })), (t) => {
        expect(crc32(t)).toBe(zlibCrc32(Buffer.from(t, 'utf8')));
      }),
      { numRuns: 500 },
    );
  });
});

describe('OtDocument', () => {
  it('applies a packet on the current version', () => {
    const doc = new OtDocument({ contents: 'hello' });
    expect(doc.apply(0, [{ skip: 5 }, { insert: '!' }])).toEqual({
      version: 1,
      ops: [{ skip: 5 }, { insert: '!' }],
      crc32: crc32('hello!'),
    });
    expect([doc.contents, doc.version, doc.crc32]).toEqual(['hello!', 1, crc32('hello!')]);
  });

  it('transforms a stale packet against every packet after its version', () => {
    const doc = new OtDocument({ contents: 'hello' });
    doc.apply(0, [{ skip: 5 }, { insert: '!' }]);
    doc.apply(1, [{ insert: '😀' }]);
    // Made on "hello": replace "ell" with "ipp".
    expect(doc.apply(0, [{ skip: 1 }, { delete: 3 }, { insert: 'ipp' }])).toEqual({
      version: 3,
      ops: [{ skip: 2 }, { insert: 'ipp' }, { delete: 3 }],
      crc32: crc32('😀hippo!'),
    });
    expect(doc.contents).toBe('😀hippo!');
  });

  it('puts the earlier packet’s insert first at the same position', () => {
    const doc = new OtDocument({ contents: 'ab' });
    doc.apply(0, [{ skip: 1 }, { insert: 'X' }]);
    expect(doc.apply(0, [{ skip: 1 }, { insert: 'Y' }]).ops).toEqual([{ skip: 2 }, { insert: 'Y' }]);
    expect(doc.contents).toBe('aXYb');
  });

  it('refuses a version it has not reached', () => {
    const doc = new OtDocument({ contents: 'x' });
    expect(codeOf(() => doc.apply(1, [{ insert: 'a' }]))).toBe(
      'OT_VERSION_AHEAD: version 1 is ahead of the document (0)',
    );
  });

  it('refuses an empty op list and ops past the end of the base version', () => {
    const doc = new OtDocument({ contents: 'abc' });
    expect(codeOf(() => doc.apply(0, []))).toBe('OT_BAD_OPS: ops must not be empty');
    doc.apply(0, [{ insert: 'xyz' }]);
    // Version 0 had 3 code points, even though the text has 6 now.
    expect(codeOf(() => doc.apply(0, [{ skip: 4 }]))).toBe(
      'OT_BAD_OPS: op 0: skip of 4 at 0 passes the end (length 3)',
    );
    expect(doc.apply(0, [{ skip: 3 }, { insert: '.' }]).ops).toEqual([{ skip: 6 }, { insert: '.' }]);
  });

  it('refuses a crc32 that does not match the result, and changes nothing', () => {
    const doc = new OtDocument({ contents: 'abc' });
    expect(codeOf(() => doc.apply(0, [{ delete: 1 }], 12345))).toBe(
      `OT_CRC_MISMATCH: the result's crc32 is ${crc32('bc')}, not 12345`,
    );
    expect([doc.contents, doc.version]).toEqual(['abc', 0]);
    expect(doc.apply(0, [{ delete: 1 }], crc32('bc')).version).toBe(1);
  });

  it('keeps maxHistory packets and refuses packets and fetches older than that', () => {
    const doc = new OtDocument({ maxHistory: 2 });
    for (const c of 'abcd') doc.apply(doc.version, [{ skip: doc.length }, { insert: c }]);
    expect(doc.oldestVersion).toBe(2);
    expect(codeOf(() => doc.apply(1, [{ insert: '-' }]))).toBe(
      'OT_VERSION_TOO_OLD: version 1 is older than the kept history (from 2)',
    );
    expect(doc.apply(2, [{ insert: '-' }]).ops).toEqual([{ insert: '-' }]);
    expect(doc.fetch(4, 5).map((p) => p.version)).toEqual([4, 5]);
    expect(codeOf(() => doc.fetch(3, 5))).toBe(
      'OT_VERSION_TOO_OLD: version 3 is older than the kept history (from 4)',
    );
  });

  it('fetches packets by version, both ends included', () => {
    const doc = new OtDocument();
    doc.apply(0, [{ insert: 'a' }]);
    doc.apply(1, [{ insert: 'b' }]);
    doc.apply(2, [{ skip: 2 }, { insert: 'c' }]);
    expect(doc.fetch(2, 3)).toEqual([
      { version: 2, ops: [{ insert: 'b' }], crc32: crc32('ba') },
      { version: 3, ops: [{ skip: 2 }, { insert: 'c' }], crc32: crc32('bac') },
    ]);
    expect(doc.fetch(0, 1).map((p) => p.version)).toEqual([1]);
    expect(doc.fetch(3, 2)).toEqual([]);
    expect(codeOf(() => doc.fetch(1, 4))).toBe('OT_VERSION_AHEAD: version 4 is ahead of the document (3)');
  });

  it('rebuilds the same text from the packets it returns', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(), text(3)), { maxLength: 20 }), (edits) => {
        const doc = new OtDocument({ contents: 'start' });
        for (const [at, inserted] of edits) {
          doc.apply(doc.version, [{ skip: at % (doc.length + 1) }, { insert: inserted }, { delete: 0 }]);
        }
        let rebuilt = 'start';
        for (const packet of doc.fetch(1, doc.version)) {
          rebuilt = apply(rebuilt, packet.ops);
          expect(crc32(rebuilt)).toBe(packet.crc32);
        }
        expect(rebuilt).toBe(doc.contents);
      }),
      { numRuns: 200 },
    );
  });

  it('with bounded history, accepts exactly the packets whose base is kept, with the same result', () => {
    fc.assert(
      fc.property(
        fc.nat(4),
        fc.array(fc.tuple(fc.nat(6), pieces), { minLength: 1, maxLength: 25 }),
        (maxHistory, packets) => {
          const full = new OtDocument({ contents: 'seed' });
          const bounded = new OtDocument({ contents: 'seed', maxHistory });
          // Texts by version, to build each stale packet on the text it claims to be based on.
          const texts = ['seed'];
          for (const [behind, recipe] of packets) {
            const base = Math.max(0, full.version - behind);
            const ops = build(recipe, Array.from(texts[base] as string).length);
            if (ops.length === 0) continue;
            if (base < bounded.oldestVersion) {
              expect(() => bounded.apply(base, ops)).toThrow(
                new OtError(
                  'OT_VERSION_TOO_OLD',
                  `version ${base} is older than the kept history (from ${bounded.oldestVersion})`,
                ),
              );
              expect(bounded.version).toBe(full.version);
              continue;
            }
            expect(bounded.apply(base, ops)).toEqual(full.apply(base, ops));
            texts.push(full.contents);
          }
          expect([bounded.contents, bounded.version]).toEqual([full.contents, full.version]);
        },
      ),
      { numRuns: 500 },
    );
  });
});
