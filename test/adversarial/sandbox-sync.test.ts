/**
 * The sandbox-sync Worker (docs/wire-sandbox-sync.md) under attack: servers/sandbox-sync.ts in its
 * own process, a real `SyncProxy` as the witness, pushing key syncs the Worker must apply in order.
 * Malformed frames are logged and dropped (`rejected`, BAD_FRAME) and the link stays open; binary
 * messages are read as JSON too. The attackers hold the token: without it the upgrade is a 401.
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import { MemoryClusterStore, MemoryKeyStore, SyncProxy } from '../../src/adapters/sandbox-sync/index.js';
import { deepArray, mutatedJson } from './support/mutate.js';
import { adversarialSuite, HEAP_BOUND_BYTES, type HostileCase, type Outcome } from './support/suite.js';
import { pacedWitness } from './support/witness.js';

const TOKEN = `adversarial-${randomUUID()}`;
const HASH = '9b74c9897bac770f'.repeat(4);

type Told = {
  kind: 'frame' | 'rejected';
  connId: number;
  type?: string;
  name?: string;
  description?: string;
  code?: string;
};

const golden = [
  '{"type":"key_delete_sync","name":"agentbox-apikey-none"}\n',
  '{"id":"5f0c","type":"key_create_resp","hashPrefix":"9b74c9897bac770f","issuedAt":"2026-11-25T19:51:00Z","ok":true,"rawToken":"agbx_00ff","keyId":"agentbox-apikey-9b74c9897bac770f"}\n',
  '{"id":"6a1d","type":"key_delete_resp","error":"api key not found","httpStatus":404}\n',
  '{"type":"template_delete_sync","name":"none"}\n',
  '{"id":"7b2e","type":"template_create_resp","ok":true,"name":"t"}\n',
];
/** Frames that add to the Worker's replicas: in the mutated set, not in the long run. */
const growing = [
  `{"type":"key_sync","tokenHash":"${HASH}","hashPrefix":"9b74c9897bac770f","name":"agentbox-apikey-9b74c9897bac770f","namespace":"team-a","role":"tenant","user":"ada","team":"a","issuedAt":"2026-11-25T19:51:00Z"}\n`,
  '{"type":"key_snapshot","items":[{"type":"","name":"k1","namespace":"n","user":"u","team":"t","role":"tenant"}]}\n',
  '{"type":"template_sync","templateFull":{"metadata":{"name":"t1","namespace":"n"},"spec":{"image":"x"}}}\n',
  '{"type":"cluster_config_sync","configSnapshot":{"clusters":[{"id":"a","url":"http://x"}],"hostAliases":[]}}\n',
];

/** The last event the Worker told for the attacker's connection before the probe's own frame. */
function outcomeOfCase(events: readonly unknown[]): Told {
  const told = events as Told[];
  const probeAt = told.findLastIndex(
    (e) => e.kind === 'frame' && e.type === 'key_delete_sync' && e.name?.startsWith('probe-'),
  );
  const probe = told[probeAt] as Told;
  const before = told.slice(0, probeAt).filter((e) => e.connId === probe.connId);
  return before[before.length - 1] as Told;
}

const rejected = (code: string) => (events: readonly unknown[]) =>
  expect(outcomeOfCase(events)).toMatchObject({ kind: 'rejected', code });
const applied = (type: string) => (events: readonly unknown[]) =>
  expect(outcomeOfCase(events)).toMatchObject({ kind: 'frame', type });

const silent: Outcome = { silent: true };
/** The number of the latest probe sent. */
let lastProbe = 0;
const DEEP = deepArray(65);

const hostile: HostileCase[] = [
  {
    name: 'items nested past MAX_ITEM_DEPTH (4) are rejected as BAD_FRAME',
    frame: `{"type":"key_snapshot","items":[{"items":[{"items":[{"items":[{"items":[{"name":"x"}]}]}]}]}]}`,
    outcome: silent,
    after: rejected('BAD_FRAME'),
  },
  {
    name: 'templateFull nested 65 deep is rejected as BAD_FRAME',
    frame: `{"type":"template_sync","templateFull":{"metadata":{"name":"deep"},"spec":${DEEP}}}`,
    outcome: silent,
    after: rejected('BAD_FRAME'),
  },
  {
    name: 'configSnapshot nested 5,000 deep is rejected as BAD_FRAME',
    frame: `{"type":"cluster_config_sync","configSnapshot":{"clusters":${deepArray(5000)}}}`,
    outcome: silent,
    after: rejected('BAD_FRAME'),
  },
  {
    name: 'a string field nested 65 deep is rejected as BAD_FRAME',
    frame: `{"type":"key_delete_sync","name":${DEEP}}`,
    outcome: silent,
    after: rejected('BAD_FRAME'),
  },
  {
    name: 'an unknown field nested 65 deep is rejected as BAD_FRAME',
    frame: `{"type":"key_delete_sync","name":"x","extra":${DEEP}}`,
    outcome: silent,
    after: rejected('BAD_FRAME'),
  },
  {
    name: 'an httpStatus of 1e400 is rejected as BAD_FRAME, or read as a number',
    frame: '{"id":"h1","type":"key_delete_resp","httpStatus":1e400}',
    outcome: silent,
    after: (events) => expect(['rejected', 'frame']).toContain(outcomeOfCase(events).kind),
  },
  {
    name: 'a key_sync with "__proto__" and "constructor" keys is applied as plain data and pollutes nothing',
    frame: `{"type":"key_sync","tokenHash":"${HASH}","hashPrefix":"9b74c9897bac770f","name":"proto","__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}`,
    outcome: silent,
    after: applied('key_sync'),
  },
  {
    name: 'a template named "__proto__" is applied as plain data and pollutes nothing',
    frame:
      '{"type":"template_sync","templateFull":{"metadata":{"name":"__proto__","namespace":"n","__proto__":{"polluted":true}},"spec":{}}}',
    outcome: silent,
    after: (events) => expect(['rejected', 'frame']).toContain(outcomeOfCase(events).kind),
  },
  {
    name: 'a frame of type "__proto__" is rejected as UNKNOWN_TYPE',
    frame: '{"type":"__proto__"}',
    outcome: silent,
    after: rejected('UNKNOWN_TYPE'),
  },
  {
    name: 'a frame of type "constructor" is rejected as UNKNOWN_TYPE',
    frame: '{"type":"constructor","name":"x"}',
    outcome: silent,
    after: rejected('UNKNOWN_TYPE'),
  },
];

adversarialSuite({
  name: 'sandbox-sync',
  script: 'sandbox-sync',
  scriptArgs: () => [TOKEN],
  dataOpcode: 1,
  upgrade: async () => ({ path: '/v1/ws/sync', headers: { 'AGENTBOX-SYNC-TOKEN': TOKEN } }),
  handshake: async () => {},
  // A live ws-proxy pings (every 30 s in the origin; the Worker here drops a link silent for 1.5 s).
  pingEveryMs: 300,
  // The Worker sends its requests on the link that dialled last: an earlier probe's request may land
  // on a later connection, and is not this connection's answer.
  ignorable: (frame) => {
    const acked = /"probe-(\d+)-ack"/.exec(frame.payload.toString());
    return acked !== null && Number(acked[1]) < lastProbe;
  },
  golden: golden.map((g) => Buffer.from(g)),
  exchange: (n) => {
    lastProbe = n;
    return {
      frame: Buffer.from(`{"type":"key_delete_sync","name":"probe-${n}"}\n`),
      answers: (reply) => reply.payload.includes(`"probe-${n}-ack"`),
      check: (reply) => {
        const request = JSON.parse(reply.payload.toString());
        expect(request).toEqual({ id: request.id, type: 'key_delete', name: `probe-${n}-ack` });
      },
    };
  },
  undocumented(frame) {
    try {
      const request = JSON.parse(frame.payload.toString());
      return ['key_create', 'key_delete', 'template_create', 'template_update', 'template_delete'].includes(
        request.type,
      )
        ? undefined
        : `type ${request.type}`;
    } catch {
      return 'not JSON';
    }
  },
  documentedCloses: [1007, 1009],
  garbage: silent,
  // Binary messages are read as JSON too: the golden frame is applied, and nothing is answered.
  otherDataType: silent,
  maxMessageBytes: 256 * 1024,
  mutated: mutatedJson([...golden, ...growing]).map((s) => new Uint8Array(Buffer.from(s))),
  mutatedKeepingOpen: mutatedJson(golden).map((s) => new Uint8Array(Buffer.from(s))),
  hostile,
  flood: {
    count: 20_000,
    closes: false,
    reconnects: 2,
    frames: (n) =>
      Array.from({ length: n }, (_, i) => Buffer.from(`{"type":"key_delete_sync","name":"flood-${i}"}\n`)),
    check: (replies) =>
      expect(replies.map((r) => JSON.parse(r.payload.toString()).type)).toEqual(['key_delete']),
    refusedWith: undefined,
  },
  // A link with no ping for readTimeoutMs is terminated: no close frame.
  stuck: { close: undefined, withinMs: 2000, lingerMs: 250 },
  witness(server) {
    const clusters = new MemoryClusterStore({
      clusters: [{ id: 'w', url: `http://127.0.0.1:${server.ports.main}` }],
    });
    const proxy = new SyncProxy({ token: TOKEN, clusters, keys: new MemoryKeyStore(), pingIntervalMs: 500 });
    const connected = new Promise<void>((resolve) => {
      const stop = proxy.onEvent((event) => {
        if (event.kind !== 'connect') return;
        stop();
        resolve();
      });
    });
    proxy.start();
    return pacedWitness(
      'witness',
      async (n) => {
        await connected;
        // A replica of at most 50 keys, each pushed again and again: its description says which push.
        const name = `witness-${n % 50}`;
        const description = `push ${n}`;
        const seen = new Promise<void>((resolve) => {
          const stop = server.onEvent((event) => {
            const told = event as Told;
            if (told.kind !== 'frame' || told.name !== name || told.description !== description) return;
            stop();
            resolve();
          });
        });
        proxy.broadcast({
          type: 'key_sync',
          tokenHash: HASH,
          hashPrefix: `w${n % 50}`,
          name,
          namespace: 'w',
          role: 'tenant',
          user: 'w',
          team: 'w',
          description,
        });
        await seen;
      },
      () => proxy.stop(),
    );
  },
  heapBoundBytes: HEAP_BOUND_BYTES,
});
