/**
 * The Hemi wire (docs/wire-hemi.md) under attack: servers/hemi.ts in its own process, `HemiClient` as
 * the witness. Any frame the wire cannot read closes with 4102 (reason `invalid command: …`), before
 * the handshake and after it; a binary frame closes with 1003.
 */
import fc from 'fast-check';
import { expect } from 'vitest';
import { HemiClient } from '../../src/adapters/hemi/client.js';
import { keyPair, signChallenge } from '../adapters/hemi/support.js';
import { deepArray, mutatedJson } from './support/mutate.js';
import type { RawWebSocket, ServerFrame } from './support/raw-ws.js';
import { adversarialSuite, HEAP_BOUND_BYTES, type HostileCase, type Outcome } from './support/suite.js';
import { allWitnesses, pacedWitness } from './support/witness.js';

const parse = (frame: ServerFrame) => JSON.parse(frame.payload.toString('utf8'));
const KEY = keyPair();
const hello = (publicKey: string, userAgent = 'adversary/1.0') =>
  `{"header":{"command":"secp256k1-hello","id":"Hello:${publicKey}"},"payload":{"userAgent":${JSON.stringify(userAgent)},"publickey":"${publicKey}"}}`;

const request = (id: string, payload: string, command = 'bfgapi-l2-keystones-request') =>
  `{"header":{"command":"${command}","id":"${id}"},"payload":${payload}}`;

const goldenPayloads: [string, string][] = [
  ['bfgapi-logs-tail-request', '{"count":2}'],
  ['bfgapi-l2-keystones-request', '{"numL2Keystones":3}'],
  ['bfgapi-l2-keystones-request', '{"numL2Keystones":99}'],
  ['bfgapi-btc-finality-by-recent-keystones-request', '{"numRecentKeystones":2}'],
  ['bfgapi-ping-request', '{"timestamp":1700000000}'],
];
const golden = goldenPayloads.map(([command, payload], i) => request(String(i + 1), payload, command));

/** Any unreadable frame: 4102, reason `invalid command: …`. */
const invalidCommand: Outcome = { close: 4102 };
const tooDeep: Outcome = { close: 4102, reason: 'invalid command: nested deeper than 64 levels' };
const requestError = (id: string): Outcome => ({
  reply: (frame) => {
    const reply = parse(frame);
    expect(reply.header).toEqual({ command: 'bfgapi-l2-keystones-response', id });
    expect(Object.keys(reply.payload.error).sort()).toEqual(['message', 'timestamp']);
  },
});

const DEEP = deepArray(65);
const deepFields: [string, string][] = [
  ['the payload', request('d1', `{"numL2Keystones":${DEEP}}`)],
  ['header.id', `{"header":{"command":"bfgapi-l2-keystones-request","id":${DEEP}},"payload":null}`],
  ['header.command', `{"header":{"command":${DEEP},"id":"d3"},"payload":null}`],
  [
    'an unknown header field',
    `{"header":{"command":"bfgapi-l2-keystones-request","id":"d4","x":${DEEP}},"payload":{"numL2Keystones":1}}`,
  ],
  [
    'an unknown top-level field',
    `{"header":{"command":"bfgapi-l2-keystones-request","id":"d5"},"payload":{"numL2Keystones":1},"x":${DEEP}}`,
  ],
];

const hostile: HostileCase[] = [
  {
    name: 'a hello whose user agent is nested 65 deep closes with 4102 "nested deeper than 64 levels"',
    beforeWelcome: true,
    frame: `{"header":{"command":"secp256k1-hello","id":"Hello:${KEY.publicKey}"},"payload":{"userAgent":${DEEP},"publickey":"${KEY.publicKey}"}}`,
    outcome: tooDeep,
  },
  {
    name: 'a hello nested 5,000 deep closes with 4102 "nested deeper than 64 levels"',
    beforeWelcome: true,
    frame: `{"header":{"command":"secp256k1-hello","id":"Hello:x"},"payload":${deepArray(5000)}}`,
    outcome: tooDeep,
  },
  {
    name: 'a hello over 64 KiB (under maxMessageBytes) closes with 1009',
    beforeWelcome: true,
    frame: hello(KEY.publicKey, 'x'.repeat(64 * 1024)),
    outcome: { close: 1009 },
  },
  {
    name: 'a request before the handshake closes with 1002',
    beforeWelcome: true,
    frame: golden[0] as string,
    outcome: { close: 1002 },
  },
  {
    name: 'a hello with the public key "__proto__" closes with 4100 "malformed public key"',
    beforeWelcome: true,
    frame: hello('__proto__'),
    outcome: { close: 4100, reason: 'malformed public key' },
  },
  ...deepFields.map(([field, frame]) => ({
    name: `${field} nested 65 deep closes with 4102 "nested deeper than 64 levels"`,
    frame,
    outcome: tooDeep,
  })),
  {
    name: 'a payload nested 5,000 deep closes with 4102 "nested deeper than 64 levels"',
    frame: request('d6', deepArray(5000)),
    outcome: tooDeep,
  },
  {
    name: 'numL2Keystones 1e400 (Infinity once parsed) is a request error',
    frame: request('h1', '{"numL2Keystones":1e400}'),
    outcome: requestError('h1'),
  },
  {
    name: 'numL2Keystones of 30 digits is a request error',
    frame: request('h2', '{"numL2Keystones":123456789012345678901234567890}'),
    outcome: requestError('h2'),
  },
  {
    name: 'an id of 129 characters closes with 4102',
    frame: request('i'.repeat(129), '{"numL2Keystones":1}'),
    outcome: invalidCommand,
  },
  {
    name: 'a payload with a "__proto__" key is answered and pollutes nothing',
    frame: request(
      'p1',
      '{"numL2Keystones":1,"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}',
    ),
    outcome: {
      reply: (frame) =>
        expect(parse(frame)).toEqual({
          header: { command: 'bfgapi-l2-keystones-response', id: 'p1' },
          payload: { l2Keystones: [{ hash: 'h0' }] },
        }),
    },
  },
  ...['__proto__', 'constructor', 'toString', 'bfgapi-constructor-request', 'bfgapi-__proto__-request'].map(
    (command): HostileCase => ({
      name: `command "${command}" closes with 4102`,
      frame: request('c1', 'null', command),
      outcome: invalidCommand,
    }),
  ),
];

/** Completes the secp256k1 handshake on a raw connection, with a fresh key. */
async function handshake(ws: RawWebSocket): Promise<void> {
  const key = keyPair();
  ws.send(hello(key.publicKey));
  const challenge = JSON.parse((await ws.message(0)).payload.toString());
  const signature = signChallenge(key.privateKey, challenge.payload.message);
  ws.send(
    `{"header":{"command":"secp256k1-hello-challenge-accepted","id":"HelloChallengeAccepted:${key.publicKey}"},"payload":{"signature":"${signature}"}}`,
  );
  const ping = JSON.parse((await ws.message(1)).payload.toString());
  if (ping.header.command !== 'bfgapi-ping-request')
    throw new Error(`expected the initial ping, got ${JSON.stringify(ping)}`);
  ws.messages.splice(0, 2);
}

adversarialSuite({
  name: 'Hemi',
  script: 'hemi',
  dataOpcode: 1,
  upgrade: async () => ({ path: '/' }),
  handshake,
  ignorable: (frame) => {
    try {
      return parse(frame).header.id === undefined;
    } catch {
      return false;
    }
  },
  golden: golden.map((g) => Buffer.from(g)),
  exchange: (n) => ({
    frame: Buffer.from(request(`probe-${n}`, `{"numL2Keystones":${n % 3}}`)),
    answers: (reply) => reply.payload.includes(`"probe-${n}"`),
    check: (reply) =>
      expect(parse(reply)).toEqual({
        header: { command: 'bfgapi-l2-keystones-response', id: `probe-${n}` },
        payload: { l2Keystones: Array.from({ length: n % 3 }, (_, i) => ({ hash: `h${i}` })) },
      }),
  }),
  undocumented(frame) {
    let reply: { header?: { command?: unknown }; payload?: { error?: { trace?: unknown } } };
    try {
      reply = parse(frame);
    } catch {
      return 'not JSON';
    }
    const command = String(reply.header?.command);
    if (!/^bfgapi-[a-z0-9-]+-(response|notification)$|^bfgapi-error$/.test(command))
      return `command ${command}`;
    if (reply.payload?.error?.trace !== undefined) return `internal error: ${JSON.stringify(reply.payload)}`;
    return undefined;
  },
  documentedCloses: [1002, 1003, 1007, 1009, 4102],
  garbage: invalidCommand,
  otherDataType: { close: 1003 },
  maxMessageBytes: 256 * 1024,
  mutated: mutatedJson([...golden, hello(KEY.publicKey)]).map((s) => new Uint8Array(Buffer.from(s))),
  // The header is kept whole (an unreadable one closes, as documented); the payload is mutated.
  // Not the ping's: the wire reads it itself, and a ping of the wrong shape closes with 4102.
  mutatedKeepingOpen: fc
    .tuple(
      fc.constantFrom(...goldenPayloads.filter(([command]) => command !== 'bfgapi-ping-request')),
      fc.nat(),
    )
    .chain(([[command, payload], id]) =>
      mutatedJson([payload], { deep: false }).map(
        (p) => new Uint8Array(Buffer.from(request(`m${id}`, p, command))),
      ),
    ),
  hostile,
  flood: {
    frames: (n) => Array.from({ length: n }, (_, i) => Buffer.from(request(`f${i}`, '{"numL2Keystones":1}'))),
    check(replies, close) {
      // docs/limits.md: a peer still sending when dropped may see a reset instead of the close frame.
      expect([4202, undefined]).toContain(close);
      const frames = replies.map(parse);
      // Errors: one RATE_LIMITED at most, and TOO_MANY_IN_FLIGHT past 64 calls running.
      const errors = frames.filter((f) => f.payload?.error !== undefined);
      const inFlight = errors.filter((f) => f.payload.error.message === 'at most 64 calls may run at once');
      expect(errors.length - inFlight.length).toBeLessThanOrEqual(1);
      for (const f of frames.filter((f) => f.payload?.error === undefined))
        expect(f.payload).toEqual({ l2Keystones: [{ hash: 'h0' }] });
    },
    refusedWith: 429,
  },
  // 4101 is a hard close: the socket goes right after the close frame.
  stuck: { close: 4101, withinMs: 2000, lingerMs: 250, refusedWith: 503 },
  witness(server) {
    const each = (port: number) => {
      const client = new HemiClient({ url: `ws://127.0.0.1:${port}`, privateKey: keyPair().privateKey });
      return pacedWitness(
        `witness on ${port}`,
        async (n) => {
          const reply = await client.call('bfgapi-l2-keystones-request', { numL2Keystones: n % 4 });
          expect(reply.payload).toEqual({
            l2Keystones: Array.from({ length: n % 4 }, (_, i) => ({ hash: `h${i}` })),
          });
        },
        () => client.close(),
      );
    };
    return allWitnesses([each(server.ports.main as number), each(server.ports.tight as number)]);
  },
  heapBoundBytes: HEAP_BOUND_BYTES,
});
