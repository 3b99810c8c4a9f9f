import { describe, expect, test } from 'vitest';
import { BUILTIN_ERRORS } from '../../../src/protocol/error-codes.js';
import {
  BUILTIN_ERROR_MAP,
  ERROR_CODES,
  errorCodeFor,
  errorCodeName,
} from '../../../src/wire/fetchml/error-codes.js';
import { toHex } from '../../../src/wire/fetchml/layout.js';
import {
  decodePacket,
  encodePacket,
  LOG_LEVELS,
  PACKET_LAYOUTS,
  PACKET_TYPES,
  type Packet,
} from '../../../src/wire/fetchml/packets.js';

const bytes = (hex: string) => Uint8Array.from(Buffer.from(hex.replace(/\s+/g, ''), 'hex'));
const utf8 = (text: string) => new TextEncoder().encode(text);
const utf8Hex = (text: string) => Buffer.from(text).toString('hex');
/** 1_700_000_000_000 ms as u64 big-endian. */
const TS = '0000018bcfe56800';
const at = 1_700_000_000_000;

const golden: [string, Packet, string][] = [
  [
    'success',
    { type: 'success', timestamp: at, message: 'job job-1 cancelled' },
    `00 ${TS} 0013 6a6f62206a6f622d312063616e63656c6c6564`,
  ],
  [
    'success with an empty message',
    { type: 'success', timestamp: 0, message: '' },
    '00 0000000000000000 0000',
  ],
  [
    'error',
    {
      type: 'error',
      timestamp: at,
      error_code: 0x20,
      message: 'no job job-9',
      details: '{"code":"JOB_NOT_FOUND","data":{"id":"job-9"}}',
    },
    `01 ${TS} 20 000c 6e6f206a6f62206a6f622d39 002e ${utf8Hex('{"code":"JOB_NOT_FOUND","data":{"id":"job-9"}}')}`,
  ],
  [
    'progress',
    { type: 'progress', timestamp: at, progress_type: 1, value: 3, total: 10, message: 'epoch' },
    `02 ${TS} 01 00000003 0000000a 0005 65706f6368`,
  ],
  [
    'status',
    { type: 'status', timestamp: at, status_type: 'jobs.updated', payload: utf8('{}') },
    `03 ${TS} 0c 6a6f62732e75706461746564 00000002 7b7d`,
  ],
  [
    'data',
    { type: 'data', timestamp: at, data_type: 'status', payload: utf8('{"jobs":[]}') },
    `04 ${TS} 06 737461747573 0000000b 7b226a6f6273223a5b5d7d`,
  ],
  [
    'log',
    { type: 'log', timestamp: at, level: LOG_LEVELS.warn, message: 'step 1/3' },
    `05 ${TS} 02 0008 7374657020312f33`,
  ],
];

describe('golden packets, one per packet type', () => {
  test.each(golden)('%s encodes to its exact bytes', (_name, packet, hex) => {
    expect(toHex(encodePacket(packet))).toBe(hex.replace(/\s+/g, ''));
  });

  test.each(golden)('%s decodes back to the same packet', (_name, packet, hex) => {
    expect(decodePacket(bytes(hex))).toEqual({ ok: true, packet });
  });

  test('the packet types keep fetch_ml values', () => {
    expect(PACKET_TYPES).toEqual({ success: 0, error: 1, progress: 2, status: 3, data: 4, log: 5 });
    expect(new Set(golden.map(([, packet]) => packet.type))).toEqual(new Set(Object.keys(PACKET_TYPES)));
  });

  test('minimum packet sizes after the type byte', () => {
    const sizes = Object.fromEntries(Object.entries(PACKET_LAYOUTS).map(([type, l]) => [type, l.minSize]));
    expect(sizes).toEqual({ success: 10, error: 13, progress: 19, status: 13, data: 13, log: 11 });
  });

  test('refuses a timestamp that is not whole non-negative milliseconds', () => {
    expect(() => encodePacket({ type: 'success', timestamp: -1, message: '' })).toThrow(
      new RangeError('success.timestamp: expected ms since epoch'),
    );
  });
});

describe('broken packets', () => {
  test.each([
    ['empty', '', { reason: 'empty', message: 'empty packet: no type' }],
    [
      'an unknown type',
      `06 ${TS}`,
      { reason: 'unknown_type', packetType: 6, message: 'unknown packet type 0x06' },
    ],
    [
      'a cut timestamp',
      '00 0000',
      {
        reason: 'short',
        field: 'timestamp',
        offset: 0,
        packetType: 0,
        message: 'success packet: 2 bytes, at least 10 needed: no room for timestamp',
      },
    ],
    [
      'a log message longer than the packet',
      `05 ${TS} 01 0009 7374`,
      {
        reason: 'truncated',
        field: 'message',
        offset: 9,
        packetType: 5,
        message: 'log packet: message announces 9 bytes, 2 left',
      },
    ],
    [
      'a byte after a success message',
      `00 ${TS} 0000 ff`,
      {
        reason: 'overlong',
        field: 'message',
        offset: 10,
        packetType: 0,
        message: 'success packet: 1 bytes left after message',
      },
    ],
  ])('%s', (_name, hex, error) => {
    expect(decodePacket(bytes(hex))).toEqual({ ok: false, error });
  });
});

describe('error codes', () => {
  test('grouped as in fetch_ml: client 0x00-0x05, infrastructure 0x10-0x14, jobs 0x20-0x24, resources 0x30-0x33', () => {
    expect(Object.values(ERROR_CODES)).toEqual([
      0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x10, 0x11, 0x12, 0x13, 0x14, 0x20, 0x21, 0x22, 0x23, 0x24, 0x30,
      0x31, 0x32, 0x33,
    ]);
    expect(errorCodeName(0x02)).toBe('AUTHENTICATION_FAILED');
    expect(errorCodeName(0x06)).toBeUndefined();
  });

  test.each([
    ['UNAUTHENTICATED', 0x02],
    ['PERMISSION_DENIED', 0x03],
    ['INVALID_INPUT', 0x01],
    ['BAD_MESSAGE', 0x01],
    ['UNKNOWN_COMMAND', 0x01],
    ['TIMEOUT', 0x14],
    ['INTERNAL', 0x10],
    ['RATE_LIMITED', 0x10],
    ['UNAVAILABLE', 0x33],
    ['CANCELLED', 0x24],
    ['DATASET_NOT_FOUND', 0x04],
    ['DATASET_EXISTS', 0x05],
    ['SOMETHING_ELSE', 0x00],
  ])('Switchboard %s is %i on the wire', (code, byte) => {
    expect(errorCodeFor(code)).toBe(byte);
  });

  test("a protocol's own map wins over the naming convention", () => {
    expect(errorCodeFor('JOB_NOT_FOUND', { JOB_NOT_FOUND: 'JOB_NOT_FOUND' })).toBe(0x20);
    expect(errorCodeFor('JOB_NOT_FOUND')).toBe(0x04);
  });

  test('every built-in Switchboard error code has a byte', () => {
    expect(Object.keys(BUILTIN_ERRORS).filter((code) => !(code in BUILTIN_ERROR_MAP))).toEqual([]);
  });
});
