import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  errorOf,
  formatHemiError,
  hemiTrace,
  internalError,
  requestError,
} from '../../../src/wire/hemi/error.js';

describe('Hemi errors', () => {
  test('a core trace id (8 bytes of hex) passes unchanged', () => {
    expect(hemiTrace('0123456789abcdef')).toBe('0123456789abcdef');
  });

  test('other trace ids keep their first 16 hex digits, lowercased, padded with 0', () => {
    expect(hemiTrace('8F14E45F-CEEA-467F-A8F5-E2B1C4D9A0B3')).toBe('8f14e45fceea467f');
    expect(hemiTrace('3F2A-9c')).toBe('3f2a9c0000000000');
    expect(hemiTrace('')).toBe('0000000000000000');
  });

  test('every trace is 16 lowercase hex digits', () => {
    fc.assert(
      fc.property(fc.string(), (id) => {
        expect(hemiTrace(id)).toMatch(/^[0-9a-f]{16}$/);
      }),
    );
  });

  test('internal errors carry the trace and "internal error"; request errors no trace', () => {
    expect(internalError('0123456789abcdef', 1700000000)).toEqual({
      timestamp: 1700000000,
      trace: '0123456789abcdef',
      message: 'internal error',
    });
    expect(requestError('not found: keystone 00', 1700000000)).toEqual({
      timestamp: 1700000000,
      message: 'not found: keystone 00',
    });
  });

  test('renders as Error.String(): "message [trace:timestamp]", or the message alone', () => {
    expect(
      formatHemiError({ timestamp: 1700000000, trace: '0123456789abcdef', message: 'internal error' }),
    ).toBe('internal error [0123456789abcdef:1700000000]');
    expect(formatHemiError({ timestamp: 1700000000, message: 'bad input' })).toBe('bad input');
  });

  test('reads the error of a response payload', () => {
    expect(errorOf({ error: { timestamp: 1, trace: 'ab', message: 'm' } })).toEqual({
      timestamp: 1,
      trace: 'ab',
      message: 'm',
    });
    expect(errorOf({ error: { timestamp: 1, trace: '', message: 'm' } })).toEqual({
      timestamp: 1,
      message: 'm',
    });
    expect(errorOf({ l2Keystones: [] })).toBeUndefined();
    expect(errorOf({ error: null })).toBeUndefined();
    expect(errorOf({ error: { timestamp: '1', message: 'm' } })).toBeUndefined();
    expect(errorOf({ error: { timestamp: 1, trace: 2, message: 'm' } })).toBeUndefined();
    expect(errorOf(null)).toBeUndefined();
  });

  test('never throws on arbitrary JSON', () => {
    fc.assert(fc.property(fc.jsonValue(), (value) => void errorOf({ error: value })));
  });
});
