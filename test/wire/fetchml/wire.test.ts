import { describe, expect, test } from 'vitest';
import { jobQueueBinding } from '../../../examples/job-queue/fetchml/binding.js';
import { toHex } from '../../../src/wire/fetchml/layout.js';
import type { OperationName, RequestFields } from '../../../src/wire/fetchml/opcodes.js';
import { decodePacket } from '../../../src/wire/fetchml/packets.js';
import { encodeRequest } from '../../../src/wire/fetchml/request.js';
import { FETCHML_WIRE_NAME, fetchmlWire, streamCallId } from '../../../src/wire/fetchml/wire.js';
import type { Message } from '../../../src/wire/message.js';

const AT = 1_700_000_000_000;
const TS = '0000018bcfe56800';
const key = Uint8Array.from({ length: 16 }, (_, i) => 0xa0 + i);
const COMMIT = '0123456789abcdef0123456789abcdef01234567';
const utf8Hex = (text: string) => Buffer.from(text).toString('hex');
const frame = <Op extends OperationName>(op: Op, fields: Omit<RequestFields<Op>, 'api_key_hash'>) =>
  encodeRequest(op, { api_key_hash: key, ...fields } as unknown as RequestFields<Op>);
const wire = () => fetchmlWire({ binding: jobQueueBinding, now: () => AT });
const encodeHex = (message: Message) => {
  const out = wire().encode(message);
  return out === null ? null : toHex(out as Uint8Array);
};

test('declares a binary wire without a hello', () => {
  expect([wire().name, wire().frame, wire().handshake]).toEqual([FETCHML_WIRE_NAME, 'binary', 'upgrade']);
  expect(FETCHML_WIRE_NAME).toBe('fetchml.binary/1');
});

describe('decoding requests into calls', () => {
  test('a request becomes a call with the key hash as its credential and a counter as its id', () => {
    const w = wire();
    const first = w.decode(frame('queue_job', { commit_id: COMMIT, priority: 5, job_name: 'train' }));
    const second = w.decode(frame('dataset_list', {}));
    expect(first).toEqual({
      ok: true,
      message: {
        type: 'call',
        id: 1,
        command: 'jobs.queue',
        input: { name: 'train', commitId: COMMIT, priority: 5 },
        credential: key,
      },
    });
    expect(second).toEqual({
      ok: true,
      message: { type: 'call', id: 2, command: 'datasets.list', input: {}, credential: key },
    });
  });

  test('stream_logs runs under an id derived from its target, which cancel_stream names', () => {
    const w = wire();
    expect(w.decode(frame('stream_logs', { target_id: 'job-1' }))).toEqual({
      ok: true,
      message: {
        type: 'call',
        id: 'stream_logs:job-1',
        command: 'jobs.logs',
        input: { id: 'job-1' },
        credential: key,
      },
    });
    expect(w.decode(frame('cancel_stream', { target_id: 'job-1' }))).toEqual({
      ok: true,
      message: { type: 'cancel', id: streamCallId('job-1') },
    });
  });

  test.each([
    [
      'queue_job_with_snapshot',
      frame('queue_job_with_snapshot', { commit_id: COMMIT, priority: 1, job_name: 't', snapshot_id: 's1' }),
      'jobs.queue',
      { name: 't', commitId: COMMIT, priority: 1, snapshotId: 's1' },
    ],
    [
      'queue_job_with_tracking',
      frame('queue_job_with_tracking', {
        commit_id: COMMIT,
        priority: 1,
        job_name: 't',
        tracking: '{"mlflow":{"uri":"x"}}',
      }),
      'jobs.queue',
      { name: 't', commitId: COMMIT, priority: 1, tracking: { mlflow: { uri: 'x' } } },
    ],
    [
      'queue_job_with_note',
      frame('queue_job_with_note', {
        commit_id: COMMIT,
        priority: 2,
        job_name: 't',
        args: ' --lr  0.1 ',
        note: 'n',
        force: 1,
      }),
      'jobs.queue',
      { name: 't', commitId: COMMIT, priority: 2, args: ['--lr', '0.1'], note: 'n', force: true },
    ],
    [
      'queue_job_with_args',
      frame('queue_job_with_args', { commit_id: COMMIT, priority: 2, job_name: 't', args: 'a b', force: 0 }),
      'jobs.queue',
      { name: 't', commitId: COMMIT, priority: 2, args: ['a', 'b'], force: false },
    ],
    ['status_request without a job', frame('status_request', {}), 'jobs.status', {}],
    [
      'status_request with a job',
      frame('status_request', { job_name: 'job-1' }),
      'jobs.status',
      { id: 'job-1' },
    ],
    ['cancel_job', frame('cancel_job', { job_name: 'job-1' }), 'jobs.cancel', { id: 'job-1' }],
    ['prune keep_last', frame('prune', { prune_type: 0, value: 3 }), 'jobs.prune', { keepLast: 3 }],
    [
      'prune older_than_seconds',
      frame('prune', { prune_type: 1, value: 60 }),
      'jobs.prune',
      { olderThanSeconds: 60 },
    ],
    [
      'dataset_register',
      frame('dataset_register', { name: 'm', url: 'https://x' }),
      'datasets.register',
      { name: 'm', url: 'https://x' },
    ],
    ['dataset_info', frame('dataset_info', { name: 'm' }), 'datasets.info', { name: 'm' }],
    ['dataset_search', frame('dataset_search', { term: 'm' }), 'datasets.search', { term: 'm' }],
    [
      'log_metric',
      frame('log_metric', { commit_id: COMMIT, step: 3, value: -0.5, name: 'loss' }),
      'metrics.log',
      { commitId: COMMIT, step: 3, value: -0.5, name: 'loss' },
    ],
    [
      'get_experiment',
      frame('get_experiment', { commit_id: COMMIT }),
      'experiments.get',
      { commitId: COMMIT },
    ],
    [
      'annotate_run',
      frame('annotate_run', { job_name: 'job-1', author: 'ann', note: 'ok' }),
      'runs.annotate',
      { id: 'job-1', author: 'ann', note: 'ok' },
    ],
    [
      'set_run_narrative',
      frame('set_run_narrative', { job_name: 'job-1', patch: '{"goal":"x"}' }),
      'runs.narrative',
      { id: 'job-1', patch: { goal: 'x' } },
    ],
    ['get_logs', frame('get_logs', { target_id: 'job-1' }), 'jobs.getLogs', { id: 'job-1' }],
    ['query_run_info', frame('query_run_info', { run_id: 'job-1' }), 'runs.info', { id: 'job-1' }],
  ])('%s calls its command with the mapped input', (_name, bytes, command, input) => {
    expect(wire().decode(bytes)).toEqual({
      ok: true,
      message: { type: 'call', id: 1, command, input, credential: key },
    });
  });

  test.each([
    ['an unknown opcode', Uint8Array.from([0x05, ...key]), 'unknown opcode 0x05'],
    [
      'a short frame',
      Uint8Array.from([0x03, 1, 2]),
      'cancel_job (0x03): 2 bytes, at least 17 needed: no room for api_key_hash',
    ],
    [
      'an opcode the binding does not serve',
      frame('attach_debug', { target_id: 'x' }),
      'attach_debug (0x15) is not served here',
    ],
    [
      'a prune type the binding does not know',
      frame('prune', { prune_type: 7, value: 1 }),
      'prune: unknown prune_type 7',
    ],
    [
      'tracking that is not JSON',
      frame('queue_job_with_tracking', { commit_id: COMMIT, priority: 1, job_name: 't', tracking: '{' }),
      'queue_job_with_tracking: tracking is not valid JSON',
    ],
    [
      'a narrative patch that is not an object',
      frame('set_run_narrative', { job_name: 'j', patch: '[1]' }),
      'set_run_narrative: patch must be a JSON object',
    ],
  ])('%s is a BAD_MESSAGE naming what is wrong', (_name, bytes, message) => {
    expect(wire().decode(bytes)).toEqual({ ok: false, error: { code: 'BAD_MESSAGE', message } });
  });

  test('a text frame is unsupported (the server closes with 1003)', () => {
    expect(wire().decode('{"type":"call"}')).toEqual({
      ok: false,
      error: { code: 'UNSUPPORTED_FRAME', message: 'text frame on the fetch_ml binary wire' },
    });
  });
});

describe('encoding replies into packets', () => {
  test('a result the binding sends as data: data_type and the output as JSON', () => {
    expect(encodeHex({ type: 'result', id: 1, output: { jobs: [] }, command: 'jobs.status' })).toBe(
      `04${TS}06${utf8Hex('status')}0000000b${utf8Hex('{"jobs":[]}')}`,
    );
  });

  test('a result the binding sends as success: its message', () => {
    const job = { id: 'job-1', state: 'cancelled' };
    expect(encodeHex({ type: 'result', id: 1, output: job, command: 'jobs.cancel' })).toBe(
      `00${TS}0013${utf8Hex('job job-1 cancelled')}`,
    );
  });

  test('a result of a command without a reply binding is a data packet named after the command', () => {
    expect(encodeHex({ type: 'result', id: 1, output: [], command: 'datasets.other' })).toBe(
      `04${TS}0e${utf8Hex('datasets.other')}00000002${utf8Hex('[]')}`,
    );
  });

  test('a log line is a log packet stamped with the time the line was written', () => {
    const line = { at: 1_700_000_000_001, level: 'warn', text: 'step 1/3' };
    expect(encodeHex({ type: 'item', id: 'stream_logs:job-1', item: line, command: 'jobs.logs' })).toBe(
      `050000018bcfe56801020008${utf8Hex('step 1/3')}`,
    );
  });

  test("a stream's end is a success packet", () => {
    expect(encodeHex({ type: 'end', id: 'stream_logs:job-1', command: 'jobs.logs' })).toBe(
      `00${TS}000b${utf8Hex('end of logs')}`,
    );
  });

  test("an error carries the mapped byte, the message, and Switchboard's code and data as JSON details", () => {
    const details = '{"code":"PERMISSION_DENIED","data":{"required":"jobs:create"}}';
    expect(
      encodeHex({
        type: 'error',
        id: 1,
        code: 'PERMISSION_DENIED',
        message: 'no',
        data: { required: 'jobs:create' },
        command: 'jobs.queue',
      }),
    ).toBe(`01${TS}030002${utf8Hex('no')}003e${utf8Hex(details)}`);
  });

  test("a protocol error uses the binding's byte; an internal error keeps its trace id", () => {
    const notFound = wire().encode({
      type: 'error',
      id: 1,
      code: 'JOB_NOT_FOUND',
      message: 'no job x',
      data: { id: 'x' },
    });
    const internal = wire().encode({
      type: 'error',
      code: 'INTERNAL',
      message: 'Internal error',
      traceId: '00ff00ff00ff00ff',
    });
    expect(decodePacket(notFound as Uint8Array)).toEqual({
      ok: true,
      packet: {
        type: 'error',
        timestamp: AT,
        error_code: 0x20,
        message: 'no job x',
        details: '{"code":"JOB_NOT_FOUND","data":{"id":"x"}}',
      },
    });
    expect(decodePacket(internal as Uint8Array)).toEqual({
      ok: true,
      packet: {
        type: 'error',
        timestamp: AT,
        error_code: 0x10,
        message: 'Internal error',
        details: '{"code":"INTERNAL","traceId":"00ff00ff00ff00ff"}',
      },
    });
  });

  test('an error too long for its 2-byte lengths is cut (message) or loses its data (details), never dropped', () => {
    const encoded = wire().encode({
      type: 'error',
      code: 'INVALID_INPUT',
      message: 'é'.repeat(40_000),
      data: 'x'.repeat(70_000),
    });
    const decoded = decodePacket(encoded as Uint8Array);
    if (!decoded.ok || decoded.packet.type !== 'error') throw new Error('expected an error packet');
    expect(Buffer.byteLength(decoded.packet.message)).toBe(65_534);
    expect(decoded.packet.details).toBe('{"code":"INVALID_INPUT"}');
  });

  test('an event is a status packet: its name and its payload as JSON', () => {
    expect(encodeHex({ type: 'event', event: 'jobs.updated', payload: {} })).toBe(
      `03${TS}0c${utf8Hex('jobs.updated')}00000002${utf8Hex('{}')}`,
    );
  });

  test.each<Message>([
    {
      type: 'welcome',
      connectionId: 'c',
      protocol: 'p',
      version: '1.0.0',
      principal: { id: 'u', permissions: [] },
      heartbeatMs: 1,
      limits: { maxMessageBytes: 1, maxInFlight: 1, ratePerSecond: 1 },
    },
    { type: 'ping', ts: 1 },
    { type: 'pong', ts: 1, at: 2 },
    { type: 'goodbye', reason: 'bye' },
    { type: 'challenge', challenge: 'x' },
    { type: 'subscribed', id: 1, key: 'k', epoch: 'e', offset: 0 },
    { type: 'publication', key: 'k', epoch: 'e', offset: 0, payload: null },
    { type: 'call', id: 1, command: 'jobs.status', input: {} },
    { type: 'cancel', id: 1 },
  ])('$type has no packet on this wire: encode returns null', (message) => {
    expect(wire().encode(message)).toBeNull();
  });
});
