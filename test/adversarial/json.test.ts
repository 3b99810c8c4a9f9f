/**
 * The native JSON wire (docs/wire-json.md, docs/limits.md) under attack: servers/json.ts in its own
 * process, the real Switchboard client as the witness.
 */
import { expect } from 'vitest';
import { createClient } from '../../src/client/index.js';
import { contractOf } from '../../src/protocol/contract.js';
import { testProtocol } from '../support/fixtures.js';
import { deepArray, mutatedJson } from './support/mutate.js';
import type { ServerFrame } from './support/raw-ws.js';
import { adversarialSuite, HEAP_BOUND_BYTES, type HostileCase, type Outcome } from './support/suite.js';
import { allWitnesses, pacedWitness } from './support/witness.js';

const parse = (frame: ServerFrame) => JSON.parse(frame.payload.toString('utf8'));
const hello = '{"type":"hello","wire":1,"protocol":"test","version":"1.2.0"}';

const golden = [
  '{"type":"call","id":"s-1","command":"logs.tail","input":{"count":2}}',
  '{"type":"call","id":1,"command":"math.add","input":{"a":20,"b":22}}',
  '{"type":"call","id":6,"command":"math.divide","input":{"a":1,"b":0}}',
  '{"type":"ping","ts":1795378225852,"id":7}',
  '{"type":"pong","ts":1795378225852,"at":1795378225853}',
  '{"type":"subscribe","id":3,"topic":"rooms.messages","params":{"roomId":"lobby"},"from":{"last":2}}',
  '{"type":"unsubscribe","id":5,"key":"rooms.lobby"}',
  '{"type":"cancel","id":2}',
  '{"type":"call","id":8,"command":"slow.wait","input":{"ms":1}}',
];
/** Publications stay in the topic's history; the long run leaves them out so the heap bound measures leaks. */
const publish =
  '{"type":"publish","id":4,"topic":"rooms.messages","params":{"roomId":"lobby"},"payload":{"text":"hi"}}';

const SERVER_TYPES = new Set([
  'challenge',
  'welcome',
  'result',
  'item',
  'end',
  'error',
  'event',
  'ping',
  'pong',
  'goodbye',
  'subscribed',
  'publication',
  'presence',
  'unsubscribed',
]);
const REQUEST_ERROR_CODES = new Set([
  'BAD_MESSAGE',
  'UNKNOWN_COMMAND',
  'INVALID_INPUT',
  'PERMISSION_DENIED',
  'UNAUTHENTICATED',
  'TIMEOUT',
  'CANCELLED',
  'TOO_MANY_IN_FLIGHT',
  'RATE_LIMITED',
  'DUPLICATE_ID',
  'UNKNOWN_TOPIC',
  'TOO_MANY_SUBSCRIPTIONS',
  'DIVIDE_BY_ZERO',
]);

const badMessage: Outcome = {
  reply: (frame) => expect(parse(frame)).toMatchObject({ type: 'error', code: 'BAD_MESSAGE' }),
};
/** BAD_MESSAGE "nested deeper than 64 levels", with the call's id when it could be read (shallow). */
const tooDeep = (id?: number): Outcome => ({
  reply: (frame) =>
    expect(parse(frame)).toEqual({
      type: 'error',
      ...(id === undefined ? {} : { id }),
      code: 'BAD_MESSAGE',
      message: 'nested deeper than 64 levels',
    }),
});
const errorWith = (id: number | string, code: string): Outcome => ({
  reply: (frame) => expect(parse(frame)).toMatchObject({ type: 'error', id, code }),
});

const DEEP = deepArray(65);
/** Depth 65 in every field a peer controls, after the welcome; the id the answer names, if any. */
const deepFields: [string, string, number?][] = [
  ['call input', `{"type":"call","id":1,"command":"math.add","input":${DEEP}}`, 1],
  [
    'call credential',
    `{"type":"call","id":1,"command":"math.add","input":{"a":1,"b":2},"credential":${DEEP}}`,
    1,
  ],
  ['call id', `{"type":"call","id":${DEEP},"command":"math.add","input":{"a":1,"b":2}}`],
  ['call command', `{"type":"call","id":1,"command":${DEEP},"input":{}}`, 1],
  ['message type', `{"type":${DEEP}}`],
  ['an unknown field', `{"type":"ping","ts":1,"extra":${DEEP}}`],
  ['cancel id', `{"type":"cancel","id":${DEEP}}`],
  ['ping ts', `{"type":"ping","ts":${DEEP}}`],
  ['pong at', `{"type":"pong","ts":1,"at":${DEEP}}`],
  ['subscribe params', `{"type":"subscribe","id":3,"topic":"rooms.messages","params":{"roomId":${DEEP}}}`, 3],
  [
    'subscribe from',
    `{"type":"subscribe","id":3,"topic":"rooms.messages","params":{"roomId":"a"},"from":${DEEP}}`,
    3,
  ],
  [
    'publish payload',
    `{"type":"publish","id":4,"topic":"rooms.messages","params":{"roomId":"a"},"payload":${DEEP}}`,
    4,
  ],
  ['unsubscribe key', `{"type":"unsubscribe","id":5,"key":${DEEP}}`, 5],
  ['auth response (after the welcome)', `{"type":"auth","response":${DEEP}}`],
  ['a second hello', `{"type":"hello","wire":1,"protocol":"test","version":"1.2.0","contract":${DEEP}}`],
];

const hostile: HostileCase[] = [
  // Before the welcome: anything wrong closes with 1002; a frame over 64 KiB with 1009.
  {
    name: 'a hello whose contract is nested 5,000 deep closes with 1002',
    beforeWelcome: true,
    // Issue 11's frame: the protocol's own contract, one event's payload schema 5,000 deep.
    frame: JSON.stringify({
      type: 'hello',
      wire: 1,
      protocol: 'test',
      version: '1.2.0',
      contract: {
        ...contractOf(testProtocol),
        events: {
          ...contractOf(testProtocol).events,
          'logs.appended': { payload: { description: '__deep__' } },
        },
      },
    }).replace('"__deep__"', deepArray(5000)),
    outcome: { close: 1002, reason: 'nested deeper than 64 levels' },
  },
  {
    name: 'a hello with credentials nested 65 deep closes with 1002',
    beforeWelcome: true,
    frame: `{"type":"hello","wire":1,"protocol":"test","version":"1.2.0","credentials":${DEEP}}`,
    outcome: { close: 1002 },
  },
  {
    name: 'a hello nested 100,000 deep (200 KB, over the 64 KiB pre-welcome limit) closes with 1009',
    beforeWelcome: true,
    frame: `{"type":"hello","wire":1,"protocol":"test","version":"1.2.0","credentials":${deepArray(100_000)}}`,
    outcome: { close: 1009 },
  },
  {
    name: 'a hello over 64 KiB (under maxMessageBytes) closes with 1009',
    beforeWelcome: true,
    frame: `{"type":"hello","wire":1,"protocol":"test","version":"1.2.0","credentials":"${'x'.repeat(64 * 1024)}"}`,
    outcome: { close: 1009 },
  },
  {
    name: 'a call before the hello closes with 1002',
    beforeWelcome: true,
    frame: golden[0] as string,
    outcome: { close: 1002 },
  },
  {
    name: 'a hello with "__proto__" credentials is welcomed, and pollutes nothing',
    beforeWelcome: true,
    frame:
      '{"type":"hello","wire":1,"protocol":"test","version":"1.2.0","credentials":{"__proto__":{"polluted":true}},"__proto__":{"wire":2}}',
    outcome: { reply: (frame) => expect(parse(frame)).toMatchObject({ type: 'welcome', protocol: 'test' }) },
  },
  {
    name: '{"type":"__proto__"} before the hello closes with 1002',
    beforeWelcome: true,
    frame: '{"type":"__proto__"}',
    outcome: { close: 1002 },
  },
  // After the welcome: too deep is BAD_MESSAGE, the connection stays open.
  ...deepFields.map(([field, frame, id]) => ({
    name: `${field} nested 65 deep gets BAD_MESSAGE "nested deeper than 64 levels"`,
    frame,
    outcome: tooDeep(id),
  })),
  {
    name: 'call input nested 5,000 deep gets BAD_MESSAGE "nested deeper than 64 levels"',
    frame: `{"type":"call","id":1,"command":"math.add","input":${deepArray(5000)}}`,
    outcome: tooDeep(1),
  },
  {
    name: 'call input nested 60 deep (under the limit) is read: INVALID_INPUT',
    frame: `{"type":"call","id":61,"command":"math.add","input":${deepArray(60)}}`,
    outcome: errorWith(61, 'INVALID_INPUT'),
  },
  {
    name: 'a second hello without its wire version closes with 4102 (the version is read first)',
    frame: '{"type":"hello","protocol":"test","version":"1.2.0"}',
    outcome: { close: 4102 },
  },
  {
    name: 'a second, well-formed hello closes with 1002',
    frame: '{"type":"hello","wire":1,"protocol":"test","version":"1.2.0"}',
    outcome: { close: 1002 },
  },
  // Huge numbers.
  {
    name: 'an input number of 1e400 (Infinity once parsed) gets INVALID_INPUT',
    frame: '{"type":"call","id":62,"command":"math.add","input":{"a":1e400,"b":1}}',
    outcome: errorWith(62, 'INVALID_INPUT'),
  },
  {
    name: 'a 30-digit input number is read as the nearest double',
    frame: '{"type":"call","id":63,"command":"math.add","input":{"a":123456789012345678901234567890,"b":1}}',
    outcome: {
      reply: (frame) =>
        expect(parse(frame)).toEqual({
          type: 'result',
          id: 63,
          output: { sum: JSON.parse('123456789012345678901234567890') + 1 },
        }),
    },
  },
  {
    name: 'a call id of 1e400 gets BAD_MESSAGE',
    frame: '{"type":"call","id":1e400,"command":"math.add","input":{"a":1,"b":2}}',
    outcome: badMessage,
  },
  {
    name: 'a call id past 2^53 gets BAD_MESSAGE',
    frame: '{"type":"call","id":9007199254740993,"command":"math.add","input":{"a":1,"b":2}}',
    outcome: badMessage,
  },
  // __proto__ and constructor.
  {
    name: 'an input with a "__proto__" key is answered and pollutes nothing',
    frame: '{"type":"call","id":64,"command":"math.add","input":{"a":1,"b":2,"__proto__":{"polluted":true}}}',
    outcome: {
      reply: (frame) => expect(parse(frame)).toEqual({ type: 'result', id: 64, output: { sum: 3 } }),
    },
  },
  {
    name: 'a frame with a top-level "__proto__" key is read as its own fields',
    frame: '{"type":"call","id":65,"command":"math.add","input":{"a":2,"b":2},"__proto__":{"type":"hello"}}',
    outcome: {
      reply: (frame) => expect(parse(frame)).toEqual({ type: 'result', id: 65, output: { sum: 4 } }),
    },
  },
  ...['__proto__', 'constructor', 'toString', 'math.constructor', 'math.__proto__', 'hasOwnProperty'].map(
    (command, i): HostileCase => ({
      name: `command "${command}" gets UNKNOWN_COMMAND`,
      frame: `{"type":"call","id":${70 + i},"command":"${command}","input":{}}`,
      outcome: errorWith(70 + i, 'UNKNOWN_COMMAND'),
    }),
  ),
  ...['__proto__', 'constructor', 'toString'].map(
    (type): HostileCase => ({
      name: `message type "${type}" gets BAD_MESSAGE`,
      frame: `{"type":"${type}"}`,
      outcome: badMessage,
    }),
  ),
  {
    name: 'publish with a "constructor" payload key is refused by the schema: INVALID_INPUT',
    frame:
      '{"type":"publish","id":80,"topic":"rooms.messages","params":{"roomId":"a"},"payload":{"constructor":{"prototype":{"polluted":true}}}}',
    outcome: errorWith(80, 'INVALID_INPUT'),
  },
];

adversarialSuite({
  name: 'native JSON',
  script: 'json',
  dataOpcode: 1,
  upgrade: async () => ({ path: '/' }),
  async handshake(ws) {
    ws.send(hello);
    const welcome = JSON.parse((await ws.message(0)).payload.toString());
    if (welcome.type !== 'welcome') throw new Error(`expected a welcome, got ${JSON.stringify(welcome)}`);
    // The welcome is consumed: replies start after it.
    ws.messages.shift();
  },
  ignorable: (frame) => {
    try {
      const type = parse(frame).type;
      return type === 'ping' || type === 'event' || type === 'presence' || type === 'publication';
    } catch {
      return false;
    }
  },
  golden: [...golden, publish].map((g) => Buffer.from(g)),
  exchange: (n) => ({
    frame: Buffer.from(`{"type":"call","id":"probe-${n}","command":"math.add","input":{"a":${n},"b":1}}`),
    answers: (reply) => reply.payload.includes(`"probe-${n}"`),
    check: (reply) =>
      expect(parse(reply)).toEqual({ type: 'result', id: `probe-${n}`, output: { sum: n + 1 } }),
  }),
  undocumented(frame) {
    let message: { type?: unknown; code?: unknown };
    try {
      message = parse(frame);
    } catch {
      return 'not JSON';
    }
    if (!SERVER_TYPES.has(message.type as string)) return `type ${String(message.type)}`;
    if (message.type === 'error' && !REQUEST_ERROR_CODES.has(message.code as string))
      return `code ${String(message.code)}`;
    return undefined;
  },
  documentedCloses: [1002, 1003, 1007, 1009, 4102],
  garbage: badMessage,
  otherDataType: { close: 1003 },
  maxMessageBytes: 256 * 1024,
  mutated: mutatedJson([...golden, publish, hello]).map((s) => new Uint8Array(Buffer.from(s))),
  mutatedKeepingOpen: mutatedJson(golden).map((s) => new Uint8Array(Buffer.from(s))),
  hostile,
  flood: {
    frames: (n) =>
      Array.from({ length: n }, (_, i) =>
        Buffer.from(`{"type":"call","id":${i},"command":"math.add","input":{"a":${i},"b":1}}`),
      ),
    check(replies, close) {
      // docs/limits.md: a peer still sending when it is dropped may see a reset instead of the
      // close frame, and lose what it had not read (its RATE_LIMITED among it).
      expect([4202, undefined]).toContain(close);
      const messages = replies.map(parse);
      expect(messages.filter((m) => m.code === 'RATE_LIMITED').length).toBeLessThanOrEqual(1);
      // The rest: exact results, or TOO_MANY_IN_FLIGHT past maxInFlight (64) calls running.
      for (const m of messages.filter((m) => m.code !== 'RATE_LIMITED')) {
        if (m.type === 'error') expect(m).toMatchObject({ id: m.id, code: 'TOO_MANY_IN_FLIGHT' });
        else expect(m).toEqual({ type: 'result', id: m.id, output: { sum: m.id + 1 } });
      }
    },
    refusedWith: 429,
  },
  // 4101 is a hard close: the socket goes right after the close frame.
  stuck: { close: 4101, withinMs: 1000, lingerMs: 250, refusedWith: 503 },
  witness(server) {
    const each = (port: number) => {
      const client = createClient({
        protocol: testProtocol,
        url: `ws://127.0.0.1:${port}`,
        reconnect: false,
        // The servers' heartbeat is 250 ms; lost answers are the witness's own 5 s timeout to find.
        heartbeatTimeoutMs: 10_000,
      });
      return pacedWitness(
        `witness on ${port}`,
        async (n) => {
          const answer = await client.call('math.add', { a: n, b: 1000 });
          if (answer.sum !== n + 1000) throw new Error(`sum ${answer.sum} for ${n} + 1000`);
        },
        () => client.close(),
      );
    };
    return allWitnesses([each(server.ports.main as number), each(server.ports.tight as number)]);
  },
  heapBoundBytes: HEAP_BOUND_BYTES,
});
