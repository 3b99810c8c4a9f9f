import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import type { Decoded } from '../../../src/wire/format.js';
import { hemiWire } from '../../../src/wire/hemi/wire.js';
import type { Message, MessageType } from '../../../src/wire/message.js';
import { bfgProtocol, bfgWithPing, NOW_MS } from './fixtures.js';

const wire = hemiWire({ api: 'bfgapi', protocol: bfgProtocol, now: () => NOW_MS });
const KEY = '02ab';

/** Every message kind the server (or a Hemi peer) sends, with its exact frame: the contract of docs/wire-hemi.md. */
const encoded: [string, Message, string | null][] = [
  [
    'result',
    { type: 'result', id: '1', output: { l2Keystones: [] }, command: 'l2.keystones' },
    '{"header":{"command":"bfgapi-l2-keystones-response","id":"1"},"payload":{"l2Keystones":[]}}',
  ],
  [
    'result of a camelCase command',
    { type: 'result', id: '7', output: { finalities: [1] }, command: 'btc.finalityByRecentKeystones' },
    '{"header":{"command":"bfgapi-btc-finality-by-recent-keystones-response","id":"7"},"payload":{"finalities":[1]}}',
  ],
  [
    'result with an undefined output',
    { type: 'result', id: '8', output: undefined, command: 'l2.crash' },
    '{"header":{"command":"bfgapi-l2-crash-response","id":"8"},"payload":null}',
  ],
  [
    'stream item',
    { type: 'item', id: '2', item: { line: 'a' }, command: 'logs.tail' },
    '{"header":{"command":"bfgapi-logs-tail-response","id":"2"},"payload":{"line":"a"}}',
  ],
  [
    'request error: no trace',
    {
      type: 'error',
      id: '3',
      code: 'NOT_FOUND',
      message: 'not found: keystone 00ff',
      command: 'l2.keystones',
    },
    '{"header":{"command":"bfgapi-l2-keystones-response","id":"3"},"payload":{"error":{"timestamp":1700000000,"message":"not found: keystone 00ff"}}}',
  ],
  [
    'internal error: trace and "internal error"',
    {
      type: 'error',
      id: '4',
      code: 'INTERNAL',
      message: 'Internal error',
      traceId: '0123456789abcdef',
      command: 'l2.crash',
    },
    '{"header":{"command":"bfgapi-l2-crash-response","id":"4"},"payload":{"error":{"timestamp":1700000000,"trace":"0123456789abcdef","message":"internal error"}}}',
  ],
  [
    'internal error with a longer trace id',
    {
      type: 'error',
      id: '4',
      code: 'INTERNAL',
      message: 'Internal error',
      traceId: '8F14E45F-CEEA-467F-A8F5-E2B1C4D9A0B3',
      command: 'l2.crash',
    },
    '{"header":{"command":"bfgapi-l2-crash-response","id":"4"},"payload":{"error":{"timestamp":1700000000,"trace":"8f14e45fceea467f","message":"internal error"}}}',
  ],
  [
    'error the core sends without naming the call',
    { type: 'error', id: '5', code: 'RATE_LIMITED', message: 'more than 1 messages per second' },
    '{"header":{"command":"bfgapi-error","id":"5"},"payload":{"error":{"timestamp":1700000000,"message":"more than 1 messages per second"}}}',
  ],
  [
    'notification',
    { type: 'event', event: 'btc.newBlock', payload: { height: 5 } },
    '{"header":{"command":"bfgapi-btc-new-block-notification"},"payload":{"height":5}}',
  ],
  [
    'welcome: the initial ping with id "0"',
    {
      type: 'welcome',
      connectionId: 'c1',
      protocol: 'bfg',
      version: '1.0.0',
      principal: { id: KEY, permissions: [] },
      heartbeatMs: 15000,
      limits: { maxMessageBytes: 1048576, maxInFlight: 64, ratePerSecond: 1000 },
    },
    '{"header":{"command":"bfgapi-ping-request","id":"0"},"payload":{"timestamp":1700000000}}',
  ],
  [
    'challenge',
    { type: 'challenge', challenge: { publickey: KEY, message: '00ff' } },
    '{"header":{"command":"secp256k1-hello-challenge","id":"HelloChallenge:02ab"},"payload":{"message":"00ff"}}',
  ],
  [
    'pong: unix seconds',
    { type: 'pong', ts: 1_699_999_999_000, at: 1_700_000_000_500 },
    '{"header":{"command":"bfgapi-ping-response"},"payload":{"origintimestamp":1699999999,"timestamp":1700000000}}',
  ],
  [
    "pong to a ping-request with an id: the id comes back, as Hemi's Call waits for it",
    { type: 'pong', ts: 1_699_999_999_000, at: 1_700_000_000_500, id: '7' },
    '{"header":{"command":"bfgapi-ping-response","id":"7"},"payload":{"origintimestamp":1699999999,"timestamp":1700000000}}',
  ],
  [
    'hello',
    {
      type: 'hello',
      protocol: 'bfg',
      version: '1.0.0',
      credentials: { publickey: KEY, userAgent: 'popm/1.0' },
    },
    '{"header":{"command":"secp256k1-hello","id":"Hello:02ab"},"payload":{"userAgent":"popm/1.0","publickey":"02ab"}}',
  ],
  [
    "hello with a contract hash: the seed's hello has no field for it, so the frame is the seed's",
    {
      type: 'hello',
      protocol: 'bfg',
      version: '1.0.0',
      credentials: { publickey: KEY, userAgent: 'popm/1.0' },
      contractHash: '0123456789abcdef',
    },
    '{"header":{"command":"secp256k1-hello","id":"Hello:02ab"},"payload":{"userAgent":"popm/1.0","publickey":"02ab"}}',
  ],
  [
    'auth',
    { type: 'auth', response: { publickey: KEY, signature: '1f00' } },
    '{"header":{"command":"secp256k1-hello-challenge-accepted","id":"HelloChallengeAccepted:02ab"},"payload":{"signature":"1f00"}}',
  ],
  [
    'call',
    { type: 'call', id: '9', command: 'l2.keystones', input: { numL2Keystones: 2 } },
    '{"header":{"command":"bfgapi-l2-keystones-request","id":"9"},"payload":{"numL2Keystones":2}}',
  ],
  ['ping: a WebSocket ping instead', { type: 'ping', ts: NOW_MS }, null],
  ['goodbye: the close says it', { type: 'goodbye', reason: 'restart' }, null],
  ['end of stream', { type: 'end', id: '2', command: 'logs.tail' }, null],
  ['cancel', { type: 'cancel', id: '2' }, null],
  ['subscribe', { type: 'subscribe', id: '1', topic: 't', params: {} }, null],
  ['unsubscribe', { type: 'unsubscribe', id: '1', key: 't' }, null],
  ['publish', { type: 'publish', id: '1', topic: 't', params: {}, payload: 1 }, null],
  ['subscribed', { type: 'subscribed', id: '1', key: 't', epoch: 'e', offset: 0 }, null],
  ['publication', { type: 'publication', key: 't', epoch: 'e', offset: 1, payload: 1 }, null],
  [
    'presence',
    { type: 'presence', key: 't', change: 'join', member: { connectionId: 'c', userId: 'u' } },
    null,
  ],
  ['unsubscribed', { type: 'unsubscribed', key: 't', code: 'X', reason: 'r' }, null],
];

describe('hemiWire encode', () => {
  test.each(encoded)('%s', (_name, message, frame) => {
    expect(wire.encode(message)).toBe(frame);
  });

  test('covers every message kind', () => {
    const kinds: MessageType[] = [
      'hello',
      'challenge',
      'auth',
      'welcome',
      'call',
      'result',
      'item',
      'end',
      'error',
      'cancel',
      'event',
      'ping',
      'pong',
      'goodbye',
      'subscribe',
      'unsubscribe',
      'publish',
      'subscribed',
      'publication',
      'presence',
      'unsubscribed',
    ];
    expect(new Set(encoded.map(([, message]) => message.type))).toEqual(new Set(kinds));
  });

  test('an overridden name replaces the derived one', () => {
    const named = hemiWire({
      api: 'bfgapi',
      protocol: bfgProtocol,
      names: { 'l2.keystones': 'l2-keystones-by-height' },
      now: () => NOW_MS,
    });
    expect(named.encode({ type: 'result', id: '1', output: null, command: 'l2.keystones' })).toBe(
      '{"header":{"command":"bfgapi-l2-keystones-by-height-response","id":"1"},"payload":null}',
    );
    expect(
      decoded(named, '{"header":{"command":"bfgapi-l2-keystones-by-height-request","id":"1"},"payload":{}}'),
    ).toEqual({ ok: true, message: { type: 'call', id: '1', command: 'l2.keystones', input: {} } });
  });

  test('throws for an event or challenge it cannot name (the server logs it as internal)', () => {
    expect(() => wire.encode({ type: 'event', event: 'nope.x', payload: null })).toThrow(
      'event "nope.x" is not part of the protocol',
    );
    expect(() => wire.encode({ type: 'challenge', challenge: 'nonce' })).toThrow(TypeError);
  });
});

function decoded(format: typeof wire, frame: string | Uint8Array): Decoded {
  return format.decode(frame);
}

describe('hemiWire decode', () => {
  const ok = (message: Message): Decoded => ({ ok: true, message });
  const cases: [string, string, Decoded][] = [
    [
      'secp256k1-hello → hello of the bound protocol',
      '{"header":{"command":"secp256k1-hello","id":"Hello:02ab"},"payload":{"userAgent":"popm/1.0","publickey":"02ab"}}',
      ok({
        type: 'hello',
        protocol: 'bfg',
        version: '1.0.0',
        credentials: { publickey: '02ab', userAgent: 'popm/1.0' },
      }),
    ],
    [
      'secp256k1-hello without userAgent',
      '{"header":{"command":"secp256k1-hello","id":"Hello:02ab"},"payload":{"publickey":"02ab"}}',
      ok({ type: 'hello', protocol: 'bfg', version: '1.0.0', credentials: { publickey: '02ab' } }),
    ],
    [
      'secp256k1-hello-challenge-accepted → auth',
      '{"header":{"command":"secp256k1-hello-challenge-accepted","id":"HelloChallengeAccepted:02ab"},"payload":{"signature":"1f00"}}',
      ok({ type: 'auth', response: { signature: '1f00' } }),
    ],
    [
      'request → call',
      '{"header":{"command":"bfgapi-l2-keystones-request","id":"1"},"payload":{"numL2Keystones":3}}',
      ok({ type: 'call', id: '1', command: 'l2.keystones', input: { numL2Keystones: 3 } }),
    ],
    [
      'request without id → call with id ""',
      '{"header":{"command":"bfgapi-l2-crash-request"},"payload":null}',
      ok({ type: 'call', id: '', command: 'l2.crash', input: null }),
    ],
    [
      'unknown fields are ignored, as Go does',
      '{"header":{"command":"bfgapi-l2-crash-request","id":"2","x":1},"payload":null,"extra":true}',
      ok({ type: 'call', id: '2', command: 'l2.crash', input: null }),
    ],
    [
      'ping-request → ping (ms)',
      '{"header":{"command":"bfgapi-ping-request","id":"5"},"payload":{"timestamp":1700000000}}',
      ok({ type: 'ping', ts: NOW_MS, id: '5' }),
    ],
    [
      'ping-request with a null payload reads timestamp 0',
      '{"header":{"command":"bfgapi-ping-request"},"payload":null}',
      ok({ type: 'ping', ts: 0 }),
    ],
    [
      'ping-response → pong (ms)',
      '{"header":{"command":"bfgapi-ping-response","id":"0"},"payload":{"origintimestamp":1700000000,"timestamp":1700000001}}',
      ok({ type: 'pong', ts: NOW_MS, at: NOW_MS + 1000 }),
    ],
  ];
  test.each(cases)('%s', (_name, frame, expected) => {
    expect(wire.decode(frame)).toEqual(expected);
  });

  const incompatible: [string, string | Uint8Array, string, string?][] = [
    ['malformed JSON', '{"header":', 'invalid command: malformed JSON: '],
    ['not an object', '[1]', 'invalid command: a message must be a JSON object'],
    ['no header', '{"payload":null}', 'invalid command: field "header" must be an object'],
    [
      'no command',
      '{"header":{"id":"1"},"payload":null}',
      'invalid command: field "header.command" must be a non-empty string',
    ],
    [
      'id not a string',
      '{"header":{"command":"bfgapi-l2-crash-request","id":1},"payload":null}',
      'invalid command: field "header.id" must be a string of at most 128 characters',
    ],
    [
      'no payload',
      '{"header":{"command":"bfgapi-l2-crash-request","id":"1"}}',
      'invalid command: field "payload" is missing',
    ],
    [
      'unknown command',
      '{"header":{"command":"bfgapi-nope-request","id":"3"},"payload":null}',
      'invalid command: unknown command "bfgapi-nope-request"',
      '3',
    ],
    [
      'another API',
      '{"header":{"command":"tbcapi-l2-crash-request","id":"3"},"payload":null}',
      'invalid command: unknown command "tbcapi-l2-crash-request"',
      '3',
    ],
    [
      'a response sent to the server',
      '{"header":{"command":"bfgapi-l2-crash-response","id":"3"},"payload":null}',
      'invalid command: unknown command "bfgapi-l2-crash-response"',
      '3',
    ],
    [
      'a notification sent to the server',
      '{"header":{"command":"bfgapi-btc-new-block-notification"},"payload":{}}',
      'invalid command: unknown command "bfgapi-btc-new-block-notification"',
    ],
    [
      'the unused secp256k1-error',
      '{"header":{"command":"secp256k1-error"},"payload":null}',
      'invalid command: unknown command "secp256k1-error"',
    ],
    [
      'hello without a key',
      '{"header":{"command":"secp256k1-hello","id":"Hello:"},"payload":{}}',
      'invalid command: secp256k1-hello: payload must hold "publickey" as a string',
      'Hello:',
    ],
    [
      'hello with a numeric userAgent',
      '{"header":{"command":"secp256k1-hello"},"payload":{"publickey":"02","userAgent":1}}',
      'invalid command: secp256k1-hello: "userAgent" must be a string',
    ],
    [
      'accepted without signature',
      '{"header":{"command":"secp256k1-hello-challenge-accepted"},"payload":null}',
      'invalid command: secp256k1-hello-challenge-accepted: payload must hold "signature" as a string',
    ],
    [
      'ping with a fractional timestamp',
      '{"header":{"command":"bfgapi-ping-request","id":"1"},"payload":{"timestamp":1.5}}',
      'invalid command: bfgapi-ping-request: "timestamp" must be an integer',
      '1',
    ],
    [
      'ping-response with a string timestamp',
      '{"header":{"command":"bfgapi-ping-response"},"payload":{"origintimestamp":"1","timestamp":1}}',
      'invalid command: bfgapi-ping-response: "origintimestamp" and "timestamp" must be integers',
    ],
  ];
  test.each(incompatible)('%s → INCOMPATIBLE (close 4102)', (_name, frame, message, id) => {
    const result = wire.decode(frame);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.code).toBe('INCOMPATIBLE');
    expect(result.error.message.startsWith(message)).toBe(true);
    expect(result.error.id).toBe(id);
  });

  test('a binary frame → UNSUPPORTED_FRAME (close 1003)', () => {
    expect(wire.decode(new Uint8Array([123, 125]))).toEqual({
      ok: false,
      error: { code: 'UNSUPPORTED_FRAME', message: 'binary frame on the Hemi wire' },
    });
  });

  test('with a ping command declared, ping-request is a call that keeps its id', () => {
    const withPing = hemiWire({ api: 'bfgapi', protocol: bfgWithPing, names: { 'node.ping': 'ping' } });
    expect(withPing.names.pingCommand).toBe('node.ping');
    expect(
      withPing.decode('{"header":{"command":"bfgapi-ping-request","id":"5"},"payload":{"timestamp":1}}'),
    ).toEqual({
      ok: true,
      message: { type: 'call', id: '5', command: 'node.ping', input: { timestamp: 1 } },
    });
    expect(
      withPing.encode({
        type: 'result',
        id: '5',
        output: { origintimestamp: 1, timestamp: 2 },
        command: 'node.ping',
      }),
    ).toBe(
      '{"header":{"command":"bfgapi-ping-response","id":"5"},"payload":{"origintimestamp":1,"timestamp":2}}',
    );
  });
});

describe('hemiWire without an authenticator', () => {
  const open = hemiWire({ api: 'tbcapi', protocol: bfgProtocol, handshake: 'none' });

  test('authenticates at the upgrade: no hello on the wire', () => {
    expect(open.handshake).toBe('upgrade');
    expect(wire.handshake).toBe('hello');
  });

  test('secp256k1 frames are unknown commands there', () => {
    expect(
      open.decode(
        '{"header":{"command":"secp256k1-hello","id":"Hello:02ab"},"payload":{"publickey":"02ab"}}',
      ),
    ).toEqual({
      ok: false,
      error: {
        code: 'INCOMPATIBLE',
        message: 'invalid command: unknown command "secp256k1-hello"',
        id: 'Hello:02ab',
      },
    });
    expect(open.decode('{"header":{"command":"tbcapi-l2-crash-request","id":"1"},"payload":null}')).toEqual({
      ok: true,
      message: { type: 'call', id: '1', command: 'l2.crash', input: null },
    });
  });
});

describe('hemiWire properties', () => {
  const neverThrows = (frame: string | Uint8Array) => {
    const result = wire.decode(frame);
    if (!result.ok) expect(['INCOMPATIBLE', 'UNSUPPORTED_FRAME']).toContain(result.error.code);
  };

  test('arbitrary strings never make decode throw', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary' }), neverThrows), { numRuns: 1000 });
  });

  test('arbitrary bytes never make decode throw', () => {
    fc.assert(fc.property(fc.uint8Array(), neverThrows), { numRuns: 500 });
  });

  test('arbitrary JSON in the envelope never makes decode throw', () => {
    const command = fc.oneof(
      fc.constantFrom(
        'secp256k1-hello',
        'secp256k1-hello-challenge-accepted',
        'bfgapi-ping-request',
        'bfgapi-ping-response',
        'bfgapi-l2-keystones-request',
        'bfgapi-l2-keystones-response',
      ),
      fc.jsonValue(),
    );
    fc.assert(
      fc.property(command, fc.jsonValue(), fc.jsonValue(), (cmd, id, payload) => {
        neverThrows(JSON.stringify({ header: { command: cmd, id }, payload }));
      }),
      { numRuns: 2000 },
    );
  });

  test('call → frame → call', () => {
    const commands = [...bfgProtocol.commands.keys()];
    fc.assert(
      fc.property(
        fc.string({ maxLength: 128 }),
        fc.constantFrom(...commands),
        fc.jsonValue(),
        (id, command, input) => {
          const call: Message = { type: 'call', id, command, input: JSON.parse(JSON.stringify(input)) };
          expect(wire.decode(wire.encode(call)!)).toEqual({ ok: true, message: call });
        },
      ),
    );
  });

  test('pong in whole seconds → frame → pong', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 40 }),
        fc.integer({ min: 0, max: 2 ** 40 }),
        (origin, at) => {
          const pong: Message = { type: 'pong', ts: origin * 1000, at: at * 1000 };
          expect(wire.decode(wire.encode(pong)!)).toEqual({ ok: true, message: pong });
        },
      ),
    );
  });

  test('hello → frame → hello', () => {
    fc.assert(
      // The header id is `Hello:<key>`, so keys up to 122 characters keep it within 128.
      fc.property(
        fc.string({ maxLength: 122 }),
        fc.option(fc.string(), { nil: undefined }),
        (publickey, userAgent) => {
          const credentials = userAgent === undefined ? { publickey } : { publickey, userAgent };
          const hello: Message = { type: 'hello', protocol: 'bfg', version: '1.0.0', credentials };
          expect(wire.decode(wire.encode(hello)!)).toEqual({ ok: true, message: hello });
        },
      ),
    );
  });
});
