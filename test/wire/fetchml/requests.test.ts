import { describe, expect, test } from 'vitest';
import { toHex } from '../../../src/wire/fetchml/layout.js';
import {
  OPCODES,
  type OperationName,
  REQUEST_LAYOUTS,
  type RequestFields,
  SEED_OPERATIONS,
} from '../../../src/wire/fetchml/opcodes.js';
import { decodeRequest, encodeRequest } from '../../../src/wire/fetchml/request.js';

const bytes = (hex: string) => Uint8Array.from(Buffer.from(hex.replace(/\s+/g, ''), 'hex'));
const KEY_HEX = 'a0a1a2a3a4a5a6a7a8a9aaabacadaeaf';
const key = bytes(KEY_HEX);
const COMMIT = '0123456789abcdef0123456789abcdef01234567';

/** Every opcode with its exact frame: `[opcode][key hash][fields…]`, field by field. */
const golden: { [Op in OperationName]: [RequestFields<Op>, string][] } = {
  queue_job: [
    [
      { api_key_hash: key, commit_id: COMMIT, priority: 5, job_name: 'train' },
      `01 ${KEY_HEX} ${COMMIT} 05 05 747261696e`,
    ],
  ],
  status_request: [
    [{ api_key_hash: key }, `02 ${KEY_HEX}`],
    [{ api_key_hash: key, job_name: 'job-1' }, `02 ${KEY_HEX} 05 6a6f622d31`],
  ],
  cancel_job: [[{ api_key_hash: key, job_name: 'job-1' }, `03 ${KEY_HEX} 05 6a6f622d31`]],
  prune: [
    [{ api_key_hash: key, prune_type: 0, value: 10 }, `04 ${KEY_HEX} 00 0000000a`],
    [{ api_key_hash: key, prune_type: 1, value: 86400 }, `04 ${KEY_HEX} 01 00015180`],
  ],
  dataset_list: [[{ api_key_hash: key }, `06 ${KEY_HEX}`]],
  dataset_register: [
    [{ api_key_hash: key, name: 'mnist', url: 's3://d' }, `07 ${KEY_HEX} 05 6d6e697374 0006 73333a2f2f64`],
  ],
  dataset_info: [[{ api_key_hash: key, name: 'mnist' }, `08 ${KEY_HEX} 05 6d6e697374`]],
  dataset_search: [[{ api_key_hash: key, term: 'mn' }, `09 ${KEY_HEX} 02 6d6e`]],
  queue_job_with_snapshot: [
    [
      { api_key_hash: key, commit_id: COMMIT, priority: 1, job_name: 'train', snapshot_id: 'snap-7' },
      `0a ${KEY_HEX} ${COMMIT} 01 05 747261696e 06 736e61702d37`,
    ],
  ],
  queue_job_with_tracking: [
    [
      { api_key_hash: key, commit_id: COMMIT, priority: 1, job_name: 'train', tracking: '{}' },
      `0b ${KEY_HEX} ${COMMIT} 01 05 747261696e 0002 7b7d`,
    ],
  ],
  queue_job_with_note: [
    [
      {
        api_key_hash: key,
        commit_id: COMMIT,
        priority: 9,
        job_name: 'train',
        args: '--lr 0.1',
        note: 'hi',
        force: 1,
      },
      `0c ${KEY_HEX} ${COMMIT} 09 05 747261696e 0008 2d2d6c7220302e31 0002 6869 01`,
    ],
  ],
  queue_job_with_args: [
    [
      { api_key_hash: key, commit_id: COMMIT, priority: 0, job_name: 'train', args: '--lr 0.1', force: 0 },
      `0d ${KEY_HEX} ${COMMIT} 00 05 747261696e 0008 2d2d6c7220302e31 00`,
    ],
  ],
  log_metric: [
    [
      { api_key_hash: key, commit_id: COMMIT, step: 10, value: 0.25, name: 'loss' },
      `0e ${KEY_HEX} ${COMMIT} 0000000a 3fd0000000000000 04 6c6f7373`,
    ],
  ],
  get_experiment: [[{ api_key_hash: key, commit_id: COMMIT }, `0f ${KEY_HEX} ${COMMIT}`]],
  annotate_run: [
    [
      { api_key_hash: key, job_name: 'job-1', author: 'ann', note: 'hi' },
      `10 ${KEY_HEX} 05 6a6f622d31 03 616e6e 0002 6869`,
    ],
  ],
  set_run_narrative: [
    [{ api_key_hash: key, job_name: 'job-1', patch: '{}' }, `11 ${KEY_HEX} 05 6a6f622d31 0002 7b7d`],
  ],
  get_logs: [[{ api_key_hash: key, target_id: 'job-1' }, `12 ${KEY_HEX} 05 6a6f622d31`]],
  stream_logs: [[{ api_key_hash: key, target_id: 'job-1' }, `13 ${KEY_HEX} 05 6a6f622d31`]],
  cancel_stream: [[{ api_key_hash: key, target_id: 'job-1' }, `14 ${KEY_HEX} 05 6a6f622d31`]],
  attach_debug: [[{ api_key_hash: key, target_id: 'job-1' }, `15 ${KEY_HEX} 05 6a6f622d31`]],
  query_run_info: [[{ api_key_hash: key, run_id: 'job-1' }, `28 ${KEY_HEX} 05 6a6f622d31`]],
};

const cases = Object.entries(golden).flatMap(([operation, list]) =>
  list.map(([fields, hex]) => [operation as OperationName, fields, hex] as const),
);

describe('golden request frames, one per opcode', () => {
  test.each(cases)('%s encodes to its exact bytes', (operation, fields, hex) => {
    expect(toHex(encodeRequest(operation, fields as never))).toBe(hex.replace(/\s+/g, ''));
  });

  test.each(cases)('%s decodes back to its fields', (operation, fields, hex) => {
    expect(decodeRequest(bytes(hex))).toEqual({
      ok: true,
      request: { operation, opcode: OPCODES[operation], fields },
    });
  });

  test('every opcode has a golden frame', () => {
    expect(Object.keys(golden).sort()).toEqual(Object.keys(OPCODES).sort());
  });

  test('the seed opcodes keep their fetch_ml values; ours start at 0x0a', () => {
    const seed = Object.fromEntries([...SEED_OPERATIONS].map((op) => [op, OPCODES[op]]));
    expect(seed).toEqual({
      queue_job: 0x01,
      status_request: 0x02,
      cancel_job: 0x03,
      prune: 0x04,
      dataset_list: 0x06,
      dataset_register: 0x07,
      dataset_info: 0x08,
      dataset_search: 0x09,
      query_run_info: 0x28,
    });
    const ours = Object.entries(OPCODES).filter(([op]) => !SEED_OPERATIONS.has(op as OperationName));
    expect(ours.map(([, code]) => code)).toEqual([
      0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15,
    ]);
  });
});

describe('minimum sizes derived from the layouts, against the seed constants', () => {
  /**
   * [operation, the seed's ProtocolMin… (key hash included), the layout's minSize]. Where they differ
   * the seed's own comment lists more bytes than its constant adds up to; the layout counts the comment.
   */
  const table: [OperationName, number, number][] = [
    ['status_request', 16, 16],
    ['cancel_job', 17, 17],
    ['prune', 21, 21],
    ['dataset_list', 16, 16],
    ['dataset_register', 19, 19],
    ['dataset_info', 17, 17],
    ['dataset_search', 17, 17],
    ['get_experiment', 36, 36],
    ['queue_job_with_snapshot', 39, 39],
    ['get_logs', 17, 17],
    ['stream_logs', 17, 17],
    ['attach_debug', 17, 17],
    // [commit_id:20][priority:1][job_name_len:1] is 22, the seed adds 21.
    ['queue_job', 37, 38],
    // …[tracking_len:2] is 24, the seed adds 23.
    ['queue_job_with_tracking', 39, 40],
    // …[args_len:2][note_len:2][force:1] is 27, the seed adds 26.
    ['queue_job_with_note', 42, 43],
    // …[args_len:2][force:1] is 25, the seed adds 24.
    ['queue_job_with_args', 40, 41],
    // [commit_id:20][step:4][value:8][name_len:1] is 33, the seed adds 25.
    ['log_metric', 41, 49],
    // [job_name_len:1][author_len:1][note_len:2] is 4, the seed adds 20.
    ['annotate_run', 36, 20],
    // [job_name_len:1][patch_len:2] is 3, the seed adds 20.
    ['set_run_narrative', 36, 19],
  ];

  test.each(table)('%s: seed %i, layout %i', (operation, _seed, derived) => {
    expect(REQUEST_LAYOUTS[operation].minSize).toBe(derived);
  });

  test('cancel_stream and query_run_info (not in the seed file) take a key hash and a 1-byte length', () => {
    expect([REQUEST_LAYOUTS.cancel_stream.minSize, REQUEST_LAYOUTS.query_run_info.minSize]).toEqual([17, 17]);
  });

  test('a queue_job frame of the seed minimum is one byte short, named by the field that does not fit', () => {
    const frame = bytes(`01 ${KEY_HEX} ${COMMIT} 05`);
    expect(frame.length - 1).toBe(37);
    expect(decodeRequest(frame)).toEqual({
      ok: false,
      error: {
        reason: 'short',
        field: 'job_name',
        offset: 37,
        operation: 'queue_job',
        opcode: 0x01,
        message: 'queue_job (0x01): 37 bytes, at least 38 needed: no room for job_name',
      },
    });
  });
});

describe('short, truncated and overlong frames', () => {
  test.each([
    ['an empty frame', '', { reason: 'empty', message: 'empty frame: no opcode' }],
    [
      'an unknown opcode',
      `05 ${KEY_HEX}`,
      { reason: 'unknown_opcode', opcode: 0x05, message: 'unknown opcode 0x05' },
    ],
    [
      'an opcode without a key hash',
      '06',
      {
        reason: 'short',
        field: 'api_key_hash',
        offset: 0,
        operation: 'dataset_list',
        opcode: 0x06,
        message: 'dataset_list (0x06): 0 bytes, at least 16 needed: no room for api_key_hash',
      },
    ],
    [
      'a cut key hash',
      '03 a0a1a2',
      {
        reason: 'short',
        field: 'api_key_hash',
        offset: 0,
        operation: 'cancel_job',
        opcode: 0x03,
        message: 'cancel_job (0x03): 3 bytes, at least 17 needed: no room for api_key_hash',
      },
    ],
    [
      'a job name longer than the frame',
      `03 ${KEY_HEX} 09 6a6f62`,
      {
        reason: 'truncated',
        field: 'job_name',
        offset: 16,
        operation: 'cancel_job',
        opcode: 0x03,
        message: 'cancel_job (0x03): job_name announces 9 bytes, 3 left',
      },
    ],
    [
      'a url cut in its length prefix',
      `07 ${KEY_HEX} 01 61 00`,
      {
        reason: 'truncated',
        field: 'url',
        offset: 18,
        operation: 'dataset_register',
        opcode: 0x07,
        message: 'dataset_register (0x07): url needs 2 bytes, 1 left',
      },
    ],
    [
      'a byte after a dataset list',
      `06 ${KEY_HEX} 00`,
      {
        reason: 'overlong',
        field: 'api_key_hash',
        offset: 16,
        operation: 'dataset_list',
        opcode: 0x06,
        message: 'dataset_list (0x06): 1 bytes left after api_key_hash',
      },
    ],
    [
      'a prune with a 5-byte value',
      `04 ${KEY_HEX} 00 0000000a 00`,
      {
        reason: 'overlong',
        field: 'value',
        offset: 21,
        operation: 'prune',
        opcode: 0x04,
        message: 'prune (0x04): 1 bytes left after value',
      },
    ],
    [
      'a status request with a partial job name',
      `02 ${KEY_HEX} 03 6a`,
      {
        reason: 'truncated',
        field: 'job_name',
        offset: 16,
        operation: 'status_request',
        opcode: 0x02,
        message: 'status_request (0x02): job_name announces 3 bytes, 1 left',
      },
    ],
  ])('%s', (_name, hex, error) => {
    expect(decodeRequest(bytes(hex))).toEqual({ ok: false, error });
  });

  test.each(cases)(
    'every cut of the %s frame is refused with the field it breaks',
    (operation, _fields, hex) => {
      const frame = bytes(hex);
      const names = REQUEST_LAYOUTS[operation].fields.map((f) => f.name);
      const valid = cases.filter(([op]) => op === operation).map(([, , other]) => bytes(other).length);
      for (let length = 1; length < frame.length; length++) {
        if (valid.includes(length)) continue;
        const decoded = decodeRequest(frame.subarray(0, length));
        expect(decoded.ok, `${operation} cut to ${length} bytes`).toBe(false);
        if (decoded.ok || !('field' in decoded.error)) throw new Error('expected a layout error');
        expect(['short', 'truncated']).toContain(decoded.error.reason);
        expect(names).toContain(decoded.error.field);
      }
    },
  );

  test.each(cases)('the %s frame with a byte more is refused as overlong', (operation, _fields, hex) => {
    const decoded = decodeRequest(bytes(`${hex} 00`));
    if (operation === 'status_request' && !hex.includes(' 05 ')) {
      // Without a job name the extra byte is an empty optional job name, which is valid.
      expect(decoded).toEqual({
        ok: true,
        request: { operation, opcode: 0x02, fields: { api_key_hash: key, job_name: '' } },
      });
      return;
    }
    expect(decoded).toMatchObject({ ok: false, error: { reason: 'overlong', operation } });
  });
});
