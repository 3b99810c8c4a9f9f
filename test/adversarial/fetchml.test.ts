/**
 * The fetch_ml binary wire (docs/wire-fetchml.md) under attack: servers/fetchml.ts in its own process,
 * `FetchmlClient` as the witness. Every bad frame is an error packet and the connection stays open;
 * a text frame closes with 1003.
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import { WebSocket } from 'ws';
import { FetchmlClient, FetchmlError } from '../../src/adapters/fetchml/index.js';
import { type WebSocketConstructor, webSocketConnector } from '../../src/transport/websocket.js';
import { apiKeyHash } from '../../src/wire/fetchml/key-hash.js';
import type { OperationName, RequestFields } from '../../src/wire/fetchml/opcodes.js';
import { decodePacket, type Packet } from '../../src/wire/fetchml/packets.js';
import { encodeRequest } from '../../src/wire/fetchml/request.js';
import { deepArray, mutatedBytes } from './support/mutate.js';
import type { ServerFrame } from './support/raw-ws.js';
import { adversarialSuite, HEAP_BOUND_BYTES, type HostileCase, type Outcome } from './support/suite.js';
import { allWitnesses, pacedWitness } from './support/witness.js';

const COMMIT = '0123456789abcdef0123456789abcdef01234567';
/** The server's admin key: made per run, passed to the child, which keeps only its hash. */
const adminKey = `sb_adversarial_${randomUUID()}`;
const adminHash = apiKeyHash(adminKey);

function request<Op extends OperationName>(
  operation: Op,
  fields: Omit<RequestFields<Op>, 'api_key_hash'>,
): Uint8Array {
  return encodeRequest(operation, { api_key_hash: adminHash, ...fields } as unknown as RequestFields<Op>);
}

function packet(frame: ServerFrame): Packet {
  const decoded = decodePacket(frame.payload);
  if (!decoded.ok) throw new Error(`not a packet: ${decoded.error.message}`);
  return decoded.packet;
}

/** An error packet with this byte and this Switchboard code in its details. */
const errorPacket = (byte: number, code: string): Outcome => ({
  reply: (frame) => {
    const p = packet(frame);
    expect(p.type).toBe('error');
    if (p.type !== 'error') return;
    expect(p.error_code).toBe(byte);
    expect(JSON.parse(p.details).code).toBe(code);
  },
});

/** Golden frames are built once the key is known: a getter, so the arbitraries see them. */
function goldenFrames(): Uint8Array[] {
  return [
    request('status_request', {}),
    request('status_request', { job_name: 'job-1' }),
    request('cancel_job', { job_name: 'job-9' }),
    request('prune', { prune_type: 0, value: 10 }),
    request('dataset_list', {}),
    request('dataset_info', { name: 'mnist' }),
    request('dataset_search', { term: 'mn' }),
    request('get_logs', { target_id: 'job-9' }),
    request('query_run_info', { run_id: 'job-9' }),
  ];
}
/** Frames that create state (jobs, metrics): in the mutated set, not in the long run. */
function creatingFrames(): Uint8Array[] {
  return [
    request('queue_job', { commit_id: COMMIT, priority: 5, job_name: 'train' }),
    request('queue_job_with_tracking', {
      commit_id: COMMIT,
      priority: 5,
      job_name: 'train',
      tracking: '{"mlflow":{"run":"a"}}',
    }),
    request('log_metric', { commit_id: COMMIT, step: 10, value: 0.25, name: 'loss' }),
    request('set_run_narrative', { job_name: 'job-1', patch: '{"summary":"ok"}' }),
  ];
}

const DOCUMENTED_ERROR_BYTES = new Set([
  0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x10, 0x14, 0x20, 0x21, 0x24, 0x33,
]);

const hostile: HostileCase[] = [
  {
    name: 'a tracking object nested 65 deep gets error 0x01 (BAD_MESSAGE)',
    frame: request('queue_job_with_tracking', {
      commit_id: COMMIT,
      priority: 1,
      job_name: 'deep',
      tracking: `{"a":${deepArray(65)}}`,
    }),
    outcome: errorPacket(0x01, 'BAD_MESSAGE'),
  },
  {
    name: 'a tracking object nested 5,000 deep gets error 0x01 (BAD_MESSAGE)',
    frame: request('queue_job_with_tracking', {
      commit_id: COMMIT,
      priority: 1,
      job_name: 'deep',
      tracking: `{"a":${deepArray(5000)}}`,
    }),
    outcome: errorPacket(0x01, 'BAD_MESSAGE'),
  },
  {
    name: 'a narrative merge patch nested 65 deep gets error 0x01 (BAD_MESSAGE)',
    setup: [request('queue_job', { commit_id: COMMIT, priority: 1, job_name: 'narrated' })],
    frame: request('set_run_narrative', { job_name: 'narrated', patch: `{"summary":${deepArray(65)}}` }),
    outcome: errorPacket(0x01, 'BAD_MESSAGE'),
  },
  {
    name: 'a narrative merge patch nested 5,000 deep gets error 0x01 (BAD_MESSAGE)',
    setup: [request('queue_job', { commit_id: COMMIT, priority: 1, job_name: 'narrated-2' })],
    frame: request('set_run_narrative', { job_name: 'narrated-2', patch: `{"summary":${deepArray(5000)}}` }),
    outcome: errorPacket(0x01, 'BAD_MESSAGE'),
  },
  {
    name: 'a metric value of NaN gets error 0x01 (INVALID_INPUT)',
    frame: request('log_metric', { commit_id: COMMIT, step: 4294967295, value: Number.NaN, name: 'loss' }),
    outcome: errorPacket(0x01, 'INVALID_INPUT'),
  },
  {
    name: 'a metric value of Infinity gets error 0x01 (INVALID_INPUT)',
    frame: request('log_metric', {
      commit_id: COMMIT,
      step: 1,
      value: Number.POSITIVE_INFINITY,
      name: 'loss',
    }),
    outcome: errorPacket(0x01, 'INVALID_INPUT'),
  },
  {
    name: 'a prune of type 255 and value 2^32-1 gets error 0x01 (BAD_MESSAGE)',
    frame: request('prune', { prune_type: 255, value: 4294967295 }),
    outcome: errorPacket(0x01, 'BAD_MESSAGE'),
  },
  {
    name: 'a str2 announcing 65,535 bytes that are not there gets error 0x01 (BAD_MESSAGE)',
    frame: Buffer.concat([
      Buffer.from(request('dataset_register', { name: 'd', url: 'u' })).subarray(0, 19),
      Buffer.from([0xff, 0xff, 0x41]),
    ]),
    outcome: errorPacket(0x01, 'BAD_MESSAGE'),
  },
  {
    name: 'an unknown key hash gets error 0x02 (UNAUTHENTICATED)',
    frame: encodeRequest('dataset_list', { api_key_hash: new Uint8Array(16) }),
    outcome: errorPacket(0x02, 'UNAUTHENTICATED'),
  },
  {
    name: 'a tracking object with "__proto__" and "constructor" keys queues the job and pollutes nothing',
    frame: request('queue_job_with_tracking', {
      commit_id: COMMIT,
      priority: 1,
      job_name: 'proto',
      tracking: '{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}',
    }),
    outcome: { reply: (frame) => expect(packet(frame).type).toBe('data') },
  },
  {
    name: 'a narrative patch with "__proto__" keys pollutes nothing',
    setup: [request('queue_job', { commit_id: COMMIT, priority: 1, job_name: 'proto-narr' })],
    frame: request('set_run_narrative', {
      job_name: 'proto-narr',
      patch: '{"__proto__":{"polluted":true},"constructor":{"prototype":{"x":1}}}',
    }),
    outcome: { reply: (frame) => expect(['success', 'data', 'error']).toContain(packet(frame).type) },
  },
  {
    name: 'a dataset named "__proto__" is not found',
    frame: request('dataset_info', { name: '__proto__' }),
    outcome: errorPacket(0x04, 'DATASET_NOT_FOUND'),
  },
];

adversarialSuite({
  name: 'fetch_ml',
  script: 'fetchml',
  scriptArgs: () => [adminKey],
  dataOpcode: 2,
  upgrade: async () => ({ path: '/ws' }),
  handshake: async () => {},
  golden: goldenFrames(),
  exchange: (n) => ({
    frame: request('dataset_info', { name: `probe-${n}` }),
    answers: (reply) => reply.payload.includes(`"name":"probe-${n}"`),
    check: (reply) => {
      const p = packet(reply);
      expect(p).toMatchObject({ type: 'error', error_code: 0x04, message: `no dataset probe-${n}` });
    },
  }),
  ignorable: (frame) => frame.payload[0] === 0x03 || frame.payload[0] === 0x05,
  undocumented(frame) {
    const decoded = decodePacket(frame.payload);
    if (!decoded.ok) return decoded.error.message;
    const p = decoded.packet;
    if (p.type === 'error' && !DOCUMENTED_ERROR_BYTES.has(p.error_code)) return `error byte ${p.error_code}`;
    if (p.type === 'error' && JSON.parse(p.details).code === 'INTERNAL') return `INTERNAL: ${p.message}`;
    return undefined;
  },
  documentedCloses: [1003, 1007, 1009],
  garbage: { reply: (frame) => expect(packet(frame)).toMatchObject({ type: 'error', error_code: 0x01 }) },
  otherDataType: { close: 1003 },
  maxMessageBytes: 256 * 1024,
  mutated: mutatedBytes([...goldenFrames(), ...creatingFrames()]),
  mutatedKeepingOpen: mutatedBytes(goldenFrames()),
  hostile,
  flood: {
    frames: (n) => Array.from({ length: n }, () => request('dataset_list', {})),
    check(replies, close) {
      // docs/limits.md: a peer still sending when dropped may see a reset instead of the close frame.
      expect([4202, undefined]).toContain(close);
      const packets = replies.map(packet);
      // 0x10 carries RATE_LIMITED (at most one) and TOO_MANY_IN_FLIGHT (past 64 calls running).
      const errors = packets.filter((p) => p.type === 'error');
      const codes = errors.map((p) => (p.type === 'error' ? JSON.parse(p.details).code : ''));
      expect(codes.filter((c) => c === 'RATE_LIMITED').length).toBeLessThanOrEqual(1);
      for (const p of errors) expect(p).toMatchObject({ error_code: 0x10 });
      for (const c of codes) expect(['RATE_LIMITED', 'TOO_MANY_IN_FLIGHT']).toContain(c);
      for (const p of packets.filter((p) => p.type !== 'error'))
        expect(p).toMatchObject({ type: 'data', data_type: 'datasets' });
    },
    refusedWith: 429,
  },
  // 4200 lets a dead peer's socket go after the core's 1 s close grace (CLOSE_GRACE_MS).
  stuck: { close: 4200, withinMs: 2500, lingerMs: 1250 },
  witness(server) {
    const each = (port: number) => {
      let client: FetchmlClient | undefined;
      const connecting = FetchmlClient.connect({
        url: `ws://127.0.0.1:${port}/ws`,
        apiKey: adminKey,
        connect: webSocketConnector(WebSocket as unknown as WebSocketConstructor),
      }).then((c) => {
        client = c;
        return c;
      });
      return pacedWitness(
        `witness on ${port}`,
        async (n) => {
          const c = await connecting;
          const failure = await c.call('dataset_info', { name: `witness-${n}` }).then(
            () => undefined,
            (e: unknown) => e,
          );
          if (!(failure instanceof FetchmlError) || failure.message !== `no dataset witness-${n}`)
            throw new Error(`unexpected answer: ${String(failure)}`);
        },
        () => client?.close(),
      );
    };
    return allWitnesses([each(server.ports.main as number), each(server.ports.tight as number)]);
  },
  heapBoundBytes: HEAP_BOUND_BYTES,
});
