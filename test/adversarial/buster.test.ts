/**
 * The Buster wire (docs/wire-buster.md) under attack: servers/buster.ts in its own process, a raw
 * Buster client (`BusterPeer` of test/adapters/buster) as the witness. Unparsable frames, unknown
 * routes and binary frames are answered with nothing; the connection stays open. Issue 12's flood
 * (20,000 requests from one client) is the flood case here, with the resident set bounded after it.
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import { WebSocket } from 'ws';
import { token } from '../adapters/buster/fixtures.js';
import { deepArray, mutatedJson } from './support/mutate.js';
import type { ServerFrame } from './support/raw-ws.js';
import { adversarialSuite, HEAP_BOUND_BYTES, type HostileCase, type Outcome } from './support/suite.js';
import { pacedWitness } from './support/witness.js';

const parse = (frame: ServerFrame) => JSON.parse(frame.payload.toString('utf8'));
const USER = randomUUID();
const bearer = async () => ({ Authorization: `Bearer ${await token(USER, { name: 'Mallory' })}` });

const golden = [
  '{"route":"/sql/run","payload":{"sql":"select 1"}}',
  '{"route":"/admin/find","payload":{"id":"t9"}}',
  '{"route":"/admin/secret","payload":null}',
  '{"route":"/threads/post","payload":{"id":"t1","text":"hi","sendMethod":"AllButSender"}}',
  '{"route":"/threads/unsubscribe","payload":{"id":"t1"}}',
  '{"route":"/no/such/route","payload":{}}',
];
/** Subscribing and drafts keep state until the connection leaves: in the mutated set, not the long run. */
const stateful = [
  '{"route":"/threads/get","payload":{"id":"t1"}}',
  '{"route":"/threads/messages/update","payload":{"id":"t1","text":"x"}}',
];

const ERROR_CODES = new Set(['NOT_FOUND', 'UNAUTHORIZED', 'BAD_REQUEST']);
const silent: Outcome = { silent: true };
const response = (route: string, check: (message: Record<string, any>) => void): Outcome => ({
  reply: (frame) => {
    const message = parse(frame);
    expect(message.route).toBe(route);
    check(message);
  },
});

const DEEP = deepArray(65);
/** A frame refused for its depth that opens with a known route: BAD_MESSAGE under that route. */
const tooDeep = (route: string): Outcome =>
  response(route, (m) => {
    expect(m.payload).toBeNull();
    expect(m.error).toEqual({ code: 'BAD_REQUEST', message: 'BAD_MESSAGE: nested deeper than 64 levels' });
  });
const hostile: HostileCase[] = [
  {
    name: 'a payload nested 65 deep is refused under its route: BAD_MESSAGE',
    frame: `{"route":"/sql/run","payload":{"sql":${DEEP}}}`,
    outcome: tooDeep('/sql/run'),
  },
  { name: 'a route nested 65 deep is dropped', frame: `{"route":${DEEP},"payload":null}`, outcome: silent },
  {
    name: 'an unknown field nested 65 deep is refused under its route: BAD_MESSAGE',
    frame: `{"route":"/sql/run","payload":{"sql":"a"},"x":${DEEP}}`,
    outcome: tooDeep('/sql/run'),
  },
  {
    name: 'a payload nested 5,000 deep is refused under its route: BAD_MESSAGE',
    frame: `{"route":"/sql/run","payload":${deepArray(5000)}}`,
    outcome: tooDeep('/sql/run'),
  },
  {
    name: 'a frame nested 65 deep that opens with an unknown route is dropped',
    frame: `{"route":"/no/such","payload":${DEEP}}`,
    outcome: silent,
  },
  {
    name: 'a payload nested 60 deep (under the limit) is a BAD_REQUEST',
    frame: `{"route":"/sql/run","payload":{"sql":${deepArray(60)}}}`,
    outcome: response('/sql/run', (m) => expect(m.error.code).toBe('BAD_REQUEST')),
  },
  {
    name: 'a sql string of 200 KB is answered with its length',
    frame: `{"route":"/sql/run","payload":{"sql":"${'x'.repeat(200_000)}"}}`,
    outcome: response('/sql/run', (m) => expect(m.payload).toEqual({ rows: [{ n: 200_000 }] })),
  },
  {
    name: 'a number of 1e400 where a string goes is a BAD_REQUEST',
    frame: '{"route":"/sql/run","payload":{"sql":1e400}}',
    outcome: response('/sql/run', (m) => expect(m.error.code).toBe('BAD_REQUEST')),
  },
  ...[
    '/__proto__',
    '/constructor',
    '/sql/constructor',
    '/sql/__proto__',
    '/toString',
    '/hasOwnProperty/x',
  ].map(
    (route): HostileCase => ({
      name: `route "${route}" is dropped`,
      frame: `{"route":"${route}","payload":null}`,
      outcome: silent,
    }),
  ),
  {
    name: 'a payload with "__proto__" and "constructor" keys is answered and pollutes nothing',
    frame:
      '{"route":"/sql/run","payload":{"sql":"abc","__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}}',
    outcome: response('/sql/run', (m) => expect(m.payload).toEqual({ rows: [{ n: 3 }] })),
  },
  {
    name: 'a frame whose "__proto__" key names a route is dropped',
    frame: '{"__proto__":{"route":"/sql/run"},"payload":{"sql":"a"}}',
    outcome: silent,
  },
];

adversarialSuite({
  name: 'Buster',
  script: 'buster',
  dataOpcode: 1,
  upgrade: async () => ({ path: '/api/v1/ws', headers: await bearer() }),
  handshake: async () => {},
  // Pushes to streams the peer follows carry no sender.
  ignorable: (frame) => {
    try {
      return parse(frame).sent_by === null;
    } catch {
      return false;
    }
  },
  golden: golden.map((g) => Buffer.from(g)),
  exchange: (n) => ({
    frame: Buffer.from(`{"route":"/admin/find","payload":{"id":"probe-${n}"}}`),
    answers: (reply) => reply.payload.includes(`no thread probe-${n}"`),
    check: (reply) =>
      expect(parse(reply)).toEqual({
        route: '/admin/find',
        event: 'findAdmin',
        payload: null,
        sent_by: { id: USER, name: 'Mallory' },
        error: { code: 'NOT_FOUND', message: `no thread probe-${n}` },
        send_method: 'SenderOnly',
      }),
  }),
  undocumented(frame) {
    let message: Record<string, any>;
    try {
      message = parse(frame);
    } catch {
      return 'not JSON';
    }
    const keys = Object.keys(message).join(',');
    if (keys !== 'route,event,payload,sent_by,error,send_method') return `fields ${keys}`;
    if (message.error !== null && !ERROR_CODES.has(message.error.code))
      return `error ${JSON.stringify(message.error)}`;
    return undefined;
  },
  documentedCloses: [1007, 1009, 4202],
  garbage: silent,
  otherDataType: silent,
  maxMessageBytes: 256 * 1024,
  mutated: mutatedJson([...golden, ...stateful]).map((s) => new Uint8Array(Buffer.from(s))),
  mutatedKeepingOpen: mutatedJson(golden).map((s) => new Uint8Array(Buffer.from(s))),
  hostile,
  flood: {
    // Issue 12: 20,000 requests from one authenticated client; docs/wire-buster.md: results,
    // TOO_MANY_IN_FLIGHT and RATE_LIMITED refusals (one per debt period), then 4202 (or a reset,
    // for a peer still sending when dropped). Buster has no per-address limit: no 429.
    count: 20_000,
    reconnects: 2,
    // docs/wire-buster.md: dropped 1 s (CLOSE_GRACE_MS) after the close frame.
    dropGraceMs: 1000,
    frames: (n) =>
      Array.from({ length: n }, (_, i) =>
        Buffer.from(`{"route":"/sql/run","payload":{"sql":"${'x'.repeat(i % 50)}"}}`),
      ),
    check(replies, close) {
      expect([4202, undefined]).toContain(close);
      for (const message of replies.map(parse)) {
        expect(message.route).toBe('/sql/run');
        if (message.error === null) expect(message.payload.rows).toHaveLength(1);
        else
          expect(message.error.message).toMatch(
            /^(TOO_MANY_IN_FLIGHT: at most 64 requests may run at once on one connection|RATE_LIMITED: more than 1000 requests per second; retry after \d+ ms)$/,
          );
      }
    },
    refusedWith: undefined,
  },
  // Buster closes a peer that does not answer its ping (1000 "pong timeout").
  stuck: { close: 1000, withinMs: 2000, lingerMs: 1250 },
  witness(server) {
    const user = randomUUID();
    const answers: Record<string, any>[] = [];
    const wake = new Set<() => void>();
    const socket = (async () => {
      const ws = new WebSocket(`ws://127.0.0.1:${server.ports.main}/api/v1/ws`, {
        headers: { Authorization: `Bearer ${await token(user, { name: 'Witness' })}` },
      });
      ws.on('message', (data) => {
        answers.push(JSON.parse(String(data)));
        for (const w of [...wake]) w();
      });
      await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
      return ws;
    })();
    /** Takes the first unclaimed answer that `matches`; answers may come in any order. */
    const claim = (matches: (m: Record<string, any>) => boolean) =>
      new Promise<Record<string, any>>((resolve) => {
        const look = () => {
          const index = answers.findIndex(matches);
          if (index < 0) return;
          wake.delete(look);
          resolve(answers.splice(index, 1)[0] as Record<string, any>);
        };
        wake.add(look);
        look();
      });
    return pacedWitness(
      'witness',
      async (n) => {
        const ws = await socket;
        // Answers carry no id: the sql's length says which call an answer is for.
        const sql = `select ${'x'.repeat(n % 1000)}`;
        ws.send(JSON.stringify({ route: '/sql/run', payload: { sql } }));
        const message = await claim((m) => m.route === '/sql/run' && m.payload?.rows?.[0]?.n === sql.length);
        expect(message).toEqual({
          route: '/sql/run',
          event: 'runSql',
          payload: { rows: [{ n: sql.length }] },
          sent_by: { id: user, name: 'Witness' },
          error: null,
          send_method: 'SenderOnly',
        });
      },
      async () => (await socket).close(),
    );
  },
  heapBoundBytes: HEAP_BOUND_BYTES,
  // The whole run, both floods included (docs/testing.md); one flood alone: 64 MiB (flood.test.ts).
  rssBoundBytes: 128 * 1024 * 1024,
});
