import { describe, expect, test } from 'vitest';
import { field, layout, optional, toHex } from '../../../src/wire/fetchml/layout.js';

const bytes = (hex: string) => Uint8Array.from(Buffer.from(hex.replace(/\s+/g, ''), 'hex'));
const hexOf = (data: Uint8Array) => toHex(data);

describe('a layout derives its sizes from its fields', () => {
  test('fixed fields only: min and max are the sum of their widths', () => {
    const fixed = layout('fixed', [
      field.u8('a'),
      field.u16('b'),
      field.u32('c'),
      field.u64('d'),
      field.f64('e'),
      field.bytes('f', 3),
      field.hex('g', 2),
    ]);
    expect([fixed.minSize, fixed.maxSize]).toEqual([1 + 2 + 4 + 8 + 8 + 3 + 2, 28]);
  });

  test('length-prefixed fields count their prefix in the minimum and leave the maximum open', () => {
    const strings = layout('strings', [field.string('s1', 1), field.string('s2', 2), field.blob('b4', 4)]);
    expect([strings.minSize, strings.maxSize]).toEqual([7, undefined]);
  });

  test('optional trailing fields do not count in the minimum', () => {
    const status = layout('status', [field.bytes('key', 16), optional(field.string('job_name', 1))]);
    expect(status.minSize).toBe(16);
  });

  test('refuses a required field after an optional one, a repeated name, or a zero-width fixed field', () => {
    expect(() => layout('x', [optional(field.u8('a')), field.u8('b')])).toThrow(
      'layout x: required field b after an optional one',
    );
    expect(() => layout('x', [field.u8('a'), field.u16('a')])).toThrow('layout x: field a appears twice');
    expect(() => layout('x', [field.bytes('k', 0)])).toThrow('layout x: field k needs a positive byte count');
  });
});

describe('encoding and decoding every kind of field', () => {
  const all = layout('all', [
    field.u8('u8'),
    field.u16('u16'),
    field.u32('u32'),
    field.u64('u64'),
    field.f64('f64'),
    field.bytes('key', 2),
    field.hex('commit', 3),
    field.string('s1', 1),
    field.string('s2', 2),
    field.string('s4', 4),
    field.blob('b1', 1),
    field.blob('b2', 2),
    field.blob('b4', 4),
  ]);
  const values = {
    u8: 0xfe,
    u16: 0x1234,
    u32: 0xdeadbeef,
    u64: 0x0102030405060708n,
    f64: 1.5,
    key: bytes('abcd'),
    commit: '00ff10',
    s1: 'é',
    s2: 'hi',
    s4: '',
    b1: bytes('01'),
    b2: bytes(''),
    b4: bytes('0203'),
  };
  const golden =
    'fe 1234 deadbeef 0102030405060708 3ff8000000000000 abcd 00ff10 02c3a9 00026869 00000000 0101 0000 000000020203';

  test('big-endian integers, IEEE doubles, raw and hex bytes, UTF-8 strings and blobs with 1/2/4-byte prefixes', () => {
    expect(hexOf(all.encode(values))).toBe(golden.replace(/ /g, ''));
  });

  test('decodes the same bytes back to the same values', () => {
    expect(all.decode(bytes(golden))).toEqual({ ok: true, value: values });
  });

  test('hex fields decode to lowercase whatever case they were encoded from', () => {
    const commit = layout('c', [field.hex('commit_id', 2)]);
    expect(hexOf(commit.encode({ commit_id: 'ABcd' }))).toBe('abcd');
    expect(commit.decode(bytes('ABCD'))).toEqual({ ok: true, value: { commit_id: 'abcd' } });
  });

  test('an optional trailing field is absent when the payload ends before it, present when bytes remain', () => {
    const status = layout('status', [
      field.u8('v'),
      optional(field.string('name', 1)),
      optional(field.u8('n')),
    ]);
    expect(status.decode(bytes('07'))).toEqual({ ok: true, value: { v: 7 } });
    expect(status.decode(bytes('07 0161'))).toEqual({ ok: true, value: { v: 7, name: 'a' } });
    expect(status.decode(bytes('07 0161 09'))).toEqual({ ok: true, value: { v: 7, name: 'a', n: 9 } });
    expect(hexOf(status.encode({ v: 7 }))).toBe('07');
    expect(hexOf(status.encode({ v: 7, name: 'a' }))).toBe('070161');
  });
});

describe('decoding errors name the field and never throw', () => {
  const job = layout('job', [field.u8('priority'), field.string('job_name', 1), field.string('args', 2)]);

  test.each([
    [
      'empty',
      '',
      {
        reason: 'short',
        field: 'priority',
        offset: 0,
        message: '0 bytes, at least 4 needed: no room for priority',
      },
    ],
    [
      'no room for a length prefix',
      '05 00',
      { reason: 'short', field: 'args', offset: 2, message: '2 bytes, at least 4 needed: no room for args' },
    ],
    [
      'a string longer than what is left',
      '05 05 6162 0000',
      { reason: 'truncated', field: 'job_name', offset: 1, message: 'job_name announces 5 bytes, 4 left' },
    ],
    [
      'a prefix cut after a body',
      '05 02 6162 00',
      { reason: 'truncated', field: 'args', offset: 4, message: 'args needs 2 bytes, 1 left' },
    ],
    [
      'bytes after the last field',
      '05 00 0000 ff',
      { reason: 'overlong', field: 'args', offset: 4, message: '1 bytes left after args' },
    ],
    [
      'invalid UTF-8',
      '05 01 ff 0000',
      { reason: 'invalid', field: 'job_name', offset: 1, message: 'job_name is not valid UTF-8' },
    ],
  ])('%s', (_name, input, error) => {
    expect(job.decode(bytes(input))).toEqual({ ok: false, error });
  });

  test('a partly present optional field is truncated, not absent', () => {
    const status = layout('status', [field.u8('v'), optional(field.u16('n'))]);
    expect(status.decode(bytes('07 01'))).toEqual({
      ok: false,
      error: { reason: 'truncated', field: 'n', offset: 1, message: 'n needs 2 bytes, 1 left' },
    });
  });

  test('a layout without fields accepts only the empty payload', () => {
    const empty = layout('empty', []);
    expect(empty.decode(bytes(''))).toEqual({ ok: true, value: {} });
    expect(empty.decode(bytes('00'))).toEqual({
      ok: false,
      error: { reason: 'overlong', field: '(start)', offset: 0, message: '1 bytes left after (start)' },
    });
  });

  test('decodes from a view into a larger buffer at its own offset', () => {
    const backing = bytes('ffff 05 01 61 0000 ffff');
    const view = backing.subarray(2, 7);
    expect(job.decode(view)).toEqual({ ok: true, value: { priority: 5, job_name: 'a', args: '' } });
  });
});

describe('encoding refuses values the layout cannot carry, naming the field', () => {
  test.each([
    ['a u8 over 255', layout('l', [field.u8('p')]), { p: 256 }, 'l.p: expected an integer in 0..255'],
    ['a negative u16', layout('l', [field.u16('p')]), { p: -1 }, 'l.p: expected an integer in 0..65535'],
    [
      'a fractional u32',
      layout('l', [field.u32('p')]),
      { p: 1.5 },
      'l.p: expected an integer in 0..4294967295',
    ],
    ['a u64 as a number', layout('l', [field.u64('t')]), { t: 1 }, 'l.t: expected a bigint in 0..2^64-1'],
    [
      'a u64 over 2^64-1',
      layout('l', [field.u64('t')]),
      { t: 1n << 64n },
      'l.t: expected a bigint in 0..2^64-1',
    ],
    [
      'a key of the wrong length',
      layout('l', [field.bytes('k', 16)]),
      { k: new Uint8Array(15) },
      'l.k: expected 16 bytes',
    ],
    [
      'a commit id that is not hex',
      layout('l', [field.hex('c', 2)]),
      { c: 'zz00' },
      'l.c: expected 4 hex characters',
    ],
    [
      'a string over its 1-byte prefix',
      layout('l', [field.string('s', 1)]),
      { s: 'x'.repeat(256) },
      'l.s: 256 bytes do not fit a 1-byte length (max 255)',
    ],
    ['a missing required field', layout('l', [field.u8('p')]), {}, 'l.p: missing'],
    [
      'an optional field after an absent one',
      layout('l', [optional(field.u8('a')), optional(field.u8('b'))]),
      { b: 1 },
      'l.b: cannot be sent without the optional field a before it',
    ],
  ])('%s', (_name, l, values, message) => {
    expect(() => (l as { encode(v: unknown): Uint8Array }).encode(values)).toThrow(new RangeError(message));
  });
});
