import { describe, expect, test } from 'vitest';
import type { Decoded, WireError } from '../../src/wire/format.js';
import { decodeJson, encodeJson, JSON_WIRE_VERSION, jsonWire, jsonWireFormat } from '../../src/wire/json.js';
import type { Message, MessageType } from '../../src/wire/message.js';

/** Every message kind with its exact encoding: the contract of docs/wire-json.md. */
const golden: [string, Message, string][] = [
  [
    'hello',
    { type: 'hello', protocol: 'jobs', version: '1.0.0', credentials: { apiKey: 'k' } },
    '{"type":"hello","wire":1,"protocol":"jobs","version":"1.0.0","credentials":{"apiKey":"k"}}',
  ],
  [
    'hello without credentials',
    { type: 'hello', protocol: 'jobs', version: '1.0.0' },
    '{"type":"hello","wire":1,"protocol":"jobs","version":"1.0.0"}',
  ],
  [
    'challenge',
    { type: 'challenge', challenge: { nonce: 'ab' } },
    '{"type":"challenge","challenge":{"nonce":"ab"}}',
  ],
  ['auth', { type: 'auth', response: 'sig' }, '{"type":"auth","response":"sig"}'],
  [
    'welcome',
    {
      type: 'welcome',
      connectionId: 'c1',
      protocol: 'jobs',
      version: '1.0.0',
      principal: { id: 'u', permissions: ['jobs:*'] },
      heartbeatMs: 15000,
      limits: { maxMessageBytes: 1048576, maxInFlight: 64, ratePerSecond: 1000, rateBurst: 2000 },
      expiresAt: 1700000000000,
    },
    '{"type":"welcome","connectionId":"c1","protocol":"jobs","version":"1.0.0","principal":{"id":"u","permissions":["jobs:*"]},"heartbeatMs":15000,"limits":{"maxMessageBytes":1048576,"maxInFlight":64,"ratePerSecond":1000,"rateBurst":2000},"expiresAt":1700000000000}',
  ],
  [
    'welcome without expiresAt, nor rateBurst (servers before it was announced)',
    {
      type: 'welcome',
      connectionId: 'c2',
      protocol: 'jobs',
      version: '1.0.0',
      principal: { id: 'anon', permissions: [] },
      heartbeatMs: 5000,
      limits: { maxMessageBytes: 1024, maxInFlight: 1, ratePerSecond: 10 },
    },
    '{"type":"welcome","connectionId":"c2","protocol":"jobs","version":"1.0.0","principal":{"id":"anon","permissions":[]},"heartbeatMs":5000,"limits":{"maxMessageBytes":1024,"maxInFlight":1,"ratePerSecond":10}}',
  ],
  [
    'call with a numeric id',
    { type: 'call', id: 1, command: 'jobs.queue', input: { name: 'x' } },
    '{"type":"call","id":1,"command":"jobs.queue","input":{"name":"x"}}',
  ],
  [
    'call with a string id and a credential',
    { type: 'call', id: 'r-2', command: 'jobs.status', input: null, credential: 'h' },
    '{"type":"call","id":"r-2","command":"jobs.status","input":null,"credential":"h"}',
  ],
  [
    'result',
    { type: 'result', id: 1, output: { ok: true } },
    '{"type":"result","id":1,"output":{"ok":true}}',
  ],
  ['item', { type: 'item', id: 'q', item: 'line' }, '{"type":"item","id":"q","item":"line"}'],
  ['end', { type: 'end', id: 7 }, '{"type":"end","id":7}'],
  [
    'error with an id and data',
    { type: 'error', id: 1, code: 'INVALID_INPUT', message: 'bad', data: { issues: [] } },
    '{"type":"error","id":1,"code":"INVALID_INPUT","message":"bad","data":{"issues":[]}}',
  ],
  [
    'error without an id, with a traceId',
    { type: 'error', code: 'INTERNAL', message: 'Internal error', traceId: '00ff00ff00ff00ff' },
    '{"type":"error","code":"INTERNAL","message":"Internal error","traceId":"00ff00ff00ff00ff"}',
  ],
  ['cancel', { type: 'cancel', id: 9 }, '{"type":"cancel","id":9}'],
  [
    'event',
    { type: 'event', event: 'jobs.updated', payload: [1] },
    '{"type":"event","event":"jobs.updated","payload":[1]}',
  ],
  ['ping', { type: 'ping', ts: 1700000000000 }, '{"type":"ping","ts":1700000000000}'],
  ['pong', { type: 'pong', ts: 1, at: 2 }, '{"type":"pong","ts":1,"at":2}'],
  [
    'goodbye',
    { type: 'goodbye', reason: 'restart', reconnectUrl: 'ws://b:1', retryAfterMs: 100 },
    '{"type":"goodbye","reason":"restart","reconnectUrl":"ws://b:1","retryAfterMs":100}',
  ],
  ['goodbye with a reason only', { type: 'goodbye', reason: 'bye' }, '{"type":"goodbye","reason":"bye"}'],
  [
    'subscribe from now',
    { type: 'subscribe', id: 3, topic: 'rooms.messages', params: { roomId: 'r1' } },
    '{"type":"subscribe","id":3,"topic":"rooms.messages","params":{"roomId":"r1"}}',
  ],
  [
    'subscribe from a position',
    { type: 'subscribe', id: 4, topic: 'ticks.prices', params: {}, from: { epoch: 'e1', offset: 12 } },
    '{"type":"subscribe","id":4,"topic":"ticks.prices","params":{},"from":{"epoch":"e1","offset":12}}',
  ],
  [
    'subscribe with the last publications',
    { type: 'subscribe', id: 's', topic: 'ticks.prices', params: { symbol: 'X' }, from: { last: 5 } },
    '{"type":"subscribe","id":"s","topic":"ticks.prices","params":{"symbol":"X"},"from":{"last":5}}',
  ],
  [
    'unsubscribe',
    { type: 'unsubscribe', id: 5, key: 'rooms.r1' },
    '{"type":"unsubscribe","id":5,"key":"rooms.r1"}',
  ],
  [
    'publish',
    { type: 'publish', id: 6, topic: 'rooms.messages', params: { roomId: 'r1' }, payload: { text: 'hi' } },
    '{"type":"publish","id":6,"topic":"rooms.messages","params":{"roomId":"r1"},"payload":{"text":"hi"}}',
  ],
  [
    'subscribed',
    { type: 'subscribed', id: 3, key: 'rooms.r1', epoch: 'e1', offset: 0 },
    '{"type":"subscribed","id":3,"key":"rooms.r1","epoch":"e1","offset":0}',
  ],
  [
    'subscribed after a gap, with a snapshot and members',
    {
      type: 'subscribed',
      id: 4,
      key: 'keys.t',
      epoch: 'e2',
      offset: 40,
      gap: 'trimmed',
      snapshot: { a: { role: 'admin' } },
      members: [{ connectionId: 'c1', userId: 'u1' }],
    },
    '{"type":"subscribed","id":4,"key":"keys.t","epoch":"e2","offset":40,"gap":"trimmed","snapshot":{"a":{"role":"admin"}},"members":[{"connectionId":"c1","userId":"u1"}]}',
  ],
  [
    'presence',
    { type: 'presence', key: 'rooms.r1', change: 'join', member: { connectionId: 'c1', userId: 'u1' } },
    '{"type":"presence","key":"rooms.r1","change":"join","member":{"connectionId":"c1","userId":"u1"}}',
  ],
  [
    'publication',
    { type: 'publication', key: 'rooms.r1', epoch: 'e1', offset: 41, payload: { text: 'hi' } },
    '{"type":"publication","key":"rooms.r1","epoch":"e1","offset":41,"payload":{"text":"hi"}}',
  ],
  [
    'unsubscribed',
    { type: 'unsubscribed', key: 'rooms.vault', code: 'PERMISSION_DENIED', reason: 'revoked' },
    '{"type":"unsubscribed","key":"rooms.vault","code":"PERMISSION_DENIED","reason":"revoked"}',
  ],
];

const ALL_TYPES: readonly MessageType[] = [
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
  'presence',
  'publication',
  'unsubscribed',
];

/** The error of a decode that must fail; fails the test when it succeeded. */
function errorOf(decoded: Decoded): WireError {
  if (decoded.ok) throw new Error(`expected a decode error, got ${JSON.stringify(decoded.message)}`);
  return decoded.error;
}

describe('jsonWire', () => {
  test('is the text format switchboard.json/1', () => {
    expect(JSON_WIRE_VERSION).toBe(1);
    expect(jsonWire.name).toBe('switchboard.json/1');
    expect(jsonWire.frame).toBe('text');
    expect(jsonWire.encode).toBe(encodeJson);
    expect(jsonWire.decode).toBe(decodeJson);
  });

  test('the golden table covers every message kind', () => {
    expect(new Set(golden.map(([, message]) => message.type))).toEqual(new Set(ALL_TYPES));
  });
});

describe('encodeJson', () => {
  test.each(golden)('encodes %s exactly', (_name, message, encoded) => {
    expect(encodeJson(message)).toBe(encoded);
  });

  test('does not serialise the command hint of result, item, end and error', () => {
    expect(encodeJson({ type: 'result', id: 1, output: 2, command: 'a.b' })).toBe(
      '{"type":"result","id":1,"output":2}',
    );
    expect(encodeJson({ type: 'item', id: 1, item: 2, command: 'a.b' })).toBe(
      '{"type":"item","id":1,"item":2}',
    );
    expect(encodeJson({ type: 'end', id: 1, command: 'a.b' })).toBe('{"type":"end","id":1}');
    expect(encodeJson({ type: 'error', id: 1, code: 'X', message: 'm', command: 'a.b' })).toBe(
      '{"type":"error","id":1,"code":"X","message":"m"}',
    );
  });

  test('encodes an undefined output, item, input or payload as null', () => {
    expect(encodeJson({ type: 'result', id: 1, output: undefined })).toBe(
      '{"type":"result","id":1,"output":null}',
    );
    expect(encodeJson({ type: 'item', id: 1, item: undefined })).toBe('{"type":"item","id":1,"item":null}');
    expect(encodeJson({ type: 'call', id: 1, command: 'a.b', input: undefined })).toBe(
      '{"type":"call","id":1,"command":"a.b","input":null}',
    );
    expect(encodeJson({ type: 'event', event: 'e.v', payload: undefined })).toBe(
      '{"type":"event","event":"e.v","payload":null}',
    );
    expect(encodeJson({ type: 'publication', key: 'k', epoch: 'e', offset: 0, payload: undefined })).toBe(
      '{"type":"publication","key":"k","epoch":"e","offset":0,"payload":null}',
    );
  });

  test('omits an undefined credential, credentials and error data', () => {
    expect(encodeJson({ type: 'call', id: 1, command: 'a.b', input: 1, credential: undefined })).toBe(
      '{"type":"call","id":1,"command":"a.b","input":1}',
    );
    expect(encodeJson({ type: 'hello', protocol: 'p', version: '1.0.0', credentials: undefined })).toBe(
      '{"type":"hello","wire":1,"protocol":"p","version":"1.0.0"}',
    );
    expect(encodeJson({ type: 'error', id: 1, code: 'X', message: 'm', data: undefined })).toBe(
      '{"type":"error","id":1,"code":"X","message":"m"}',
    );
  });

  test('escapes strings in the hand-assembled messages', () => {
    expect(encodeJson({ type: 'event', event: 'a"b\\c', payload: '\n' })).toBe(
      '{"type":"event","event":"a\\"b\\\\c","payload":"\\n"}',
    );
    expect(encodeJson({ type: 'result', id: '"}', output: 1 })).toBe(
      '{"type":"result","id":"\\"}","output":1}',
    );
  });

  test('throws for values JSON cannot carry', () => {
    expect(() => encodeJson({ type: 'result', id: 1, output: 1n })).toThrow(TypeError);
  });
});

describe('decodeJson', () => {
  test.each(golden)('decodes the encoding of %s back to the same message', (_name, message, encoded) => {
    expect(decodeJson(encoded)).toEqual({ ok: true, message });
    expect(decodeJson(encodeJson(message))).toEqual({ ok: true, message });
  });

  test('drops the command hint on the way through', () => {
    expect(decodeJson(encodeJson({ type: 'result', id: 1, output: 2, command: 'a.b' }))).toEqual({
      ok: true,
      message: { type: 'result', id: 1, output: 2 },
    });
    expect(decodeJson(encodeJson({ type: 'error', id: 1, code: 'X', message: 'm', command: 'a.b' }))).toEqual(
      {
        ok: true,
        message: { type: 'error', id: 1, code: 'X', message: 'm' },
      },
    );
  });

  test('ignores unknown fields', () => {
    expect(decodeJson('{"type":"cancel","id":2,"extra":true}')).toEqual({
      ok: true,
      message: { type: 'cancel', id: 2 },
    });
  });

  test('reads a missing subscribe or publish params as {}', () => {
    expect(decodeJson('{"type":"subscribe","id":1,"topic":"t"}')).toEqual({
      ok: true,
      message: { type: 'subscribe', id: 1, topic: 't', params: {} },
    });
    expect(decodeJson('{"type":"publish","id":1,"topic":"t","payload":2}')).toEqual({
      ok: true,
      message: { type: 'publish', id: 1, topic: 't', params: {}, payload: 2 },
    });
  });

  test('accepts call ids at the edges: 0, MAX_SAFE_INTEGER, 1 char and 128 chars', () => {
    for (const id of [0, Number.MAX_SAFE_INTEGER, 'x', 'y'.repeat(128)]) {
      expect(decodeJson(JSON.stringify({ type: 'cancel', id }))).toEqual({
        ok: true,
        message: { type: 'cancel', id },
      });
    }
  });

  test('refuses a binary frame as UNSUPPORTED_FRAME', () => {
    expect(decodeJson(new Uint8Array([123, 125]))).toEqual({
      ok: false,
      error: { code: 'UNSUPPORTED_FRAME', message: 'binary frame on the JSON wire' },
    });
    expect(decodeJson(new Uint8Array(0))).toEqual({
      ok: false,
      error: { code: 'UNSUPPORTED_FRAME', message: 'binary frame on the JSON wire' },
    });
  });

  test.each(['{"type":', '', 'hello', "{'type':'ping'}", '{"type":"ping","ts":1,}'])(
    'reports malformed JSON %j as BAD_MESSAGE with the parser message',
    (frame) => {
      const error = errorOf(decodeJson(frame));
      expect(error.code).toBe('BAD_MESSAGE');
      expect(error.message).toMatch(/^malformed JSON: \S/);
      expect(error.id).toBeUndefined();
    },
  );

  // Each frame with the exact error it decodes to. Every one is BAD_MESSAGE.
  const rejected: [string, string, WireError][] = [
    ['an array', '[1,2]', { code: 'BAD_MESSAGE', message: 'a message must be a JSON object' }],
    ['a number', '42', { code: 'BAD_MESSAGE', message: 'a message must be a JSON object' }],
    ['null', 'null', { code: 'BAD_MESSAGE', message: 'a message must be a JSON object' }],
    ['a string', '"call"', { code: 'BAD_MESSAGE', message: 'a message must be a JSON object' }],
    ['a missing type', '{"id":1}', { code: 'BAD_MESSAGE', message: 'field "type" must be a string' }],
    ['a numeric type', '{"type":7}', { code: 'BAD_MESSAGE', message: 'field "type" must be a string' }],
    ['a null type', '{"type":null}', { code: 'BAD_MESSAGE', message: 'field "type" must be a string' }],
    [
      'an unknown type without an id',
      '{"type":"frobnicate"}',
      { code: 'BAD_MESSAGE', message: 'unknown message type "frobnicate"' },
    ],
    [
      'an unknown type with a string id, which is kept',
      '{"type":"frobnicate","id":"q"}',
      { code: 'BAD_MESSAGE', message: 'unknown message type "frobnicate"', id: 'q' },
    ],
    [
      'an unknown type with a numeric id, which is kept',
      '{"type":"frobnicate","id":12}',
      { code: 'BAD_MESSAGE', message: 'unknown message type "frobnicate"', id: 12 },
    ],
    [
      'an unknown type with an invalid id, which is dropped',
      '{"type":"frobnicate","id":-3}',
      { code: 'BAD_MESSAGE', message: 'unknown message type "frobnicate"' },
    ],
    [
      'an unknown type whose name is cut at 64 chars',
      `{"type":"${'t'.repeat(100)}"}`,
      { code: 'BAD_MESSAGE', message: `unknown message type "${'t'.repeat(63)}` },
    ],
    ...(
      [
        ['a negative id', '-1'],
        ['a float id', '1.5'],
        ['an unsafe integer id', '9007199254740992'],
        ['an empty string id', '""'],
        ['a 129-char id', `"${'x'.repeat(129)}"`],
        ['a boolean id', 'true'],
        ['a null id', 'null'],
      ] as const
    ).map(([name, id]): [string, string, WireError] => [
      `a call with ${name}`,
      `{"type":"call","id":${id},"command":"a.b","input":1}`,
      {
        code: 'BAD_MESSAGE',
        message: 'call: field "id" must be a non-negative integer or a string of 1-128 chars',
      },
    ]),
    [
      'a call without an id',
      '{"type":"call","command":"a.b"}',
      {
        code: 'BAD_MESSAGE',
        message: 'call: field "id" must be a non-negative integer or a string of 1-128 chars',
      },
    ],
    [
      'a call without a command',
      '{"type":"call","id":5,"input":1}',
      { code: 'BAD_MESSAGE', message: 'call: field "command" must be a string', id: 5 },
    ],
    [
      'a call with a non-string command',
      '{"type":"call","id":"c","command":false}',
      { code: 'BAD_MESSAGE', message: 'call: field "command" must be a string', id: 'c' },
    ],
    [
      'a cancel without an id',
      '{"type":"cancel"}',
      { code: 'BAD_MESSAGE', message: 'cancel: field "id" must be a call id' },
    ],
    [
      'a ping with a string ts',
      '{"type":"ping","ts":"now"}',
      { code: 'BAD_MESSAGE', message: 'ping: field "ts" must be a finite number' },
    ],
    [
      'a pong without at',
      '{"type":"pong","ts":1}',
      { code: 'BAD_MESSAGE', message: 'pong: fields "ts" and "at" must be numbers' },
    ],
    [
      'a hello with a numeric protocol',
      '{"type":"hello","wire":1,"protocol":3,"version":"1.0.0"}',
      { code: 'BAD_MESSAGE', message: 'hello: fields "protocol" and "version" must be strings' },
    ],
    [
      'a hello without a version',
      '{"type":"hello","wire":1,"protocol":"p"}',
      { code: 'BAD_MESSAGE', message: 'hello: fields "protocol" and "version" must be strings' },
    ],
    [
      'a welcome without a protocol',
      '{"type":"welcome","connectionId":"c","version":"1.0.0"}',
      {
        code: 'BAD_MESSAGE',
        message: 'welcome: fields "connectionId", "protocol" and "version" must be strings',
      },
    ],
    [
      'a welcome whose permissions are not strings',
      '{"type":"welcome","connectionId":"c","protocol":"p","version":"1.0.0","principal":{"id":"u","permissions":[1]}}',
      {
        code: 'BAD_MESSAGE',
        message: 'welcome: field "principal" must be {id: string, permissions: string[]}',
      },
    ],
    [
      'a welcome without heartbeatMs',
      '{"type":"welcome","connectionId":"c","protocol":"p","version":"1.0.0","principal":{"id":"u","permissions":[]}}',
      { code: 'BAD_MESSAGE', message: 'welcome: field "heartbeatMs" must be a number' },
    ],
    [
      'a welcome with incomplete limits',
      '{"type":"welcome","connectionId":"c","protocol":"p","version":"1.0.0","principal":{"id":"u","permissions":[]},"heartbeatMs":1,"limits":{"maxMessageBytes":1,"maxInFlight":1}}',
      {
        code: 'BAD_MESSAGE',
        message: 'welcome: field "limits" must hold numbers maxMessageBytes, maxInFlight, ratePerSecond',
      },
    ],
    [
      'a welcome with a string rateBurst',
      '{"type":"welcome","connectionId":"c","protocol":"p","version":"1.0.0","principal":{"id":"u","permissions":[]},"heartbeatMs":1,"limits":{"maxMessageBytes":1,"maxInFlight":1,"ratePerSecond":1,"rateBurst":"lots"}}',
      { code: 'BAD_MESSAGE', message: 'welcome: field "limits.rateBurst" must be a number' },
    ],
    [
      'a welcome with a string expiresAt',
      '{"type":"welcome","connectionId":"c","protocol":"p","version":"1.0.0","principal":{"id":"u","permissions":[]},"heartbeatMs":1,"limits":{"maxMessageBytes":1,"maxInFlight":1,"ratePerSecond":1},"expiresAt":"soon"}',
      { code: 'BAD_MESSAGE', message: 'welcome: field "expiresAt" must be a number' },
    ],
    [
      'a result with a float id',
      '{"type":"result","id":0.5,"output":1}',
      { code: 'BAD_MESSAGE', message: 'result: field "id" must be a call id' },
    ],
    [
      'an item without an id',
      '{"type":"item","item":1}',
      { code: 'BAD_MESSAGE', message: 'item: field "id" must be a call id' },
    ],
    [
      'an end with an empty id',
      '{"type":"end","id":""}',
      { code: 'BAD_MESSAGE', message: 'end: field "id" must be a call id' },
    ],
    [
      'an error with a null id',
      '{"type":"error","id":null,"code":"X","message":"m"}',
      { code: 'BAD_MESSAGE', message: 'error: field "id" must be a call id' },
    ],
    [
      'an error with a numeric code',
      '{"type":"error","code":1,"message":"m"}',
      { code: 'BAD_MESSAGE', message: 'error: fields "code" and "message" must be strings' },
    ],
    [
      'an error with a numeric traceId',
      '{"type":"error","code":"INTERNAL","message":"m","traceId":7}',
      { code: 'BAD_MESSAGE', message: 'error: field "traceId" must be a string' },
    ],
    [
      'an event without a name',
      '{"type":"event","payload":1}',
      { code: 'BAD_MESSAGE', message: 'event: field "event" must be a string' },
    ],
    [
      'a goodbye without a reason',
      '{"type":"goodbye"}',
      { code: 'BAD_MESSAGE', message: 'goodbye: field "reason" must be a string' },
    ],
    [
      'a goodbye with a numeric reconnectUrl',
      '{"type":"goodbye","reason":"r","reconnectUrl":1}',
      { code: 'BAD_MESSAGE', message: 'goodbye: field "reconnectUrl" must be a string' },
    ],
    [
      'a goodbye with a string retryAfterMs',
      '{"type":"goodbye","reason":"r","retryAfterMs":"1"}',
      { code: 'BAD_MESSAGE', message: 'goodbye: field "retryAfterMs" must be a number' },
    ],
    [
      'a subscribe without an id',
      '{"type":"subscribe","topic":"t"}',
      { code: 'BAD_MESSAGE', message: 'subscribe: field "id" must be a call id' },
    ],
    [
      'a subscribe without a topic',
      '{"type":"subscribe","id":2}',
      { code: 'BAD_MESSAGE', message: 'subscribe: field "topic" must be a string', id: 2 },
    ],
    [
      'a subscribe with a numeric param',
      '{"type":"subscribe","id":2,"topic":"t","params":{"a":1}}',
      { code: 'BAD_MESSAGE', message: 'subscribe: field "params" must be an object of strings', id: 2 },
    ],
    [
      'a subscribe from a negative offset',
      '{"type":"subscribe","id":2,"topic":"t","from":{"epoch":"e","offset":-1}}',
      {
        code: 'BAD_MESSAGE',
        message: 'subscribe: field "from" must be {epoch: string, offset: integer} or {last: integer}',
        id: 2,
      },
    ],
    [
      'a subscribe from a fractional last',
      '{"type":"subscribe","id":2,"topic":"t","from":{"last":1.5}}',
      {
        code: 'BAD_MESSAGE',
        message: 'subscribe: field "from" must be {epoch: string, offset: integer} or {last: integer}',
        id: 2,
      },
    ],
    [
      'an unsubscribe without an id',
      '{"type":"unsubscribe","key":"k"}',
      { code: 'BAD_MESSAGE', message: 'unsubscribe: field "id" must be a call id' },
    ],
    [
      'an unsubscribe without a key',
      '{"type":"unsubscribe","id":3}',
      { code: 'BAD_MESSAGE', message: 'unsubscribe: field "key" must be a string', id: 3 },
    ],
    [
      'a publish without an id',
      '{"type":"publish","topic":"t"}',
      { code: 'BAD_MESSAGE', message: 'publish: field "id" must be a call id' },
    ],
    [
      'a publish without a topic',
      '{"type":"publish","id":4}',
      { code: 'BAD_MESSAGE', message: 'publish: field "topic" must be a string', id: 4 },
    ],
    [
      'a publish with array params',
      '{"type":"publish","id":4,"topic":"t","params":["a"]}',
      { code: 'BAD_MESSAGE', message: 'publish: field "params" must be an object of strings', id: 4 },
    ],
    [
      'a subscribed without an epoch',
      '{"type":"subscribed","id":1,"key":"k","offset":0}',
      { code: 'BAD_MESSAGE', message: 'subscribed: fields "id", "key", "epoch" and "offset" are required' },
    ],
    [
      'a subscribed with an unknown gap',
      '{"type":"subscribed","id":1,"key":"k","epoch":"e","offset":0,"gap":"lost"}',
      { code: 'BAD_MESSAGE', message: 'subscribed: field "gap" must be "trimmed" or "epoch"' },
    ],
    [
      'a presence with an unknown change',
      '{"type":"presence","key":"k","change":"wave","member":{"connectionId":"c","userId":"u"}}',
      {
        code: 'BAD_MESSAGE',
        message:
          'presence: fields "key", "change" (join|leave) and "member" {connectionId, userId} are required',
      },
    ],
    [
      'a publication with a fractional offset',
      '{"type":"publication","key":"k","epoch":"e","offset":1.5,"payload":1}',
      { code: 'BAD_MESSAGE', message: 'publication: fields "key", "epoch" and "offset" are required' },
    ],
    [
      'an unsubscribed without a reason',
      '{"type":"unsubscribed","key":"k","code":"X"}',
      { code: 'BAD_MESSAGE', message: 'unsubscribed: fields "key", "code" and "reason" must be strings' },
    ],
  ];

  test.each(rejected)('rejects %s with the exact error', (_name, frame, error) => {
    expect(decodeJson(frame)).toEqual({ ok: false, error });
  });

  test.each([
    ['2', 'unsupported wire version 2; this server speaks 1'],
    ['"1"', 'unsupported wire version "1"; this server speaks 1'],
    ['null', 'unsupported wire version null; this server speaks 1'],
    ['0', 'unsupported wire version 0; this server speaks 1'],
  ])('refuses a hello with wire %s as INCOMPATIBLE', (wire, message) => {
    expect(decodeJson(`{"type":"hello","wire":${wire},"protocol":"p","version":"1.0.0"}`)).toEqual({
      ok: false,
      error: { code: 'INCOMPATIBLE', message },
    });
  });

  test('refuses a hello without wire as INCOMPATIBLE, before looking at its other fields', () => {
    expect(decodeJson('{"type":"hello","protocol":"p","version":"1.0.0"}')).toEqual({
      ok: false,
      error: { code: 'INCOMPATIBLE', message: 'unsupported wire version undefined; this server speaks 1' },
    });
    expect(decodeJson('{"type":"hello"}')).toEqual({
      ok: false,
      error: { code: 'INCOMPATIBLE', message: 'unsupported wire version undefined; this server speaks 1' },
    });
  });

  test('refuses a hello whose wire is nested 20,000 arrays deep as BAD_MESSAGE before parsing it', () => {
    const depth = 20_000;
    const frame = `{"type":"hello","wire":${'['.repeat(depth)}${']'.repeat(depth)},"protocol":"p","version":"1.0.0"}`;
    expect(decodeJson(frame)).toEqual({
      ok: false,
      error: { code: 'BAD_MESSAGE', message: 'nested deeper than 64 levels' },
    });
  });

  const deep = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

  test.each([
    ['a number id before the deep part', `{"type":"call","id":7,"input":${deep(64)}}`, 7],
    ['a string id after it', `{"type":"call","input":${deep(64)} , "id" : "x\\"y"}`, 'x"y'],
    ['no id', `{"type":"call","input":${deep(64)}}`, undefined],
    ['an "id" that is only a nested key', `{"type":"call","input":{"id":3,"b":${deep(64)}}}`, undefined],
    ['an "id" that is a value, not a key', `{"type":"id","input":${deep(64)}}`, undefined],
    ['an id that is no call id', `{"id":-1,"input":${deep(64)}}`, undefined],
  ])('a frame nested deeper than 64 with %s is BAD_MESSAGE naming that id', (_, frame, id) => {
    expect(decodeJson(frame)).toEqual({
      ok: false,
      error: {
        code: 'BAD_MESSAGE',
        message: 'nested deeper than 64 levels',
        ...(id === undefined ? {} : { id }),
      },
    });
  });

  test('64 levels, the envelope included, decode; jsonWireFormat sets another bound', () => {
    const frame = `{"type":"call","id":1,"command":"a.b","input":${deep(63)}}`;
    expect(decodeJson(frame).ok).toBe(true);
    expect(jsonWireFormat({ maxDepth: 63 }).decode(frame)).toEqual({
      ok: false,
      error: { code: 'BAD_MESSAGE', message: 'nested deeper than 63 levels', id: 1 },
    });
    expect(
      jsonWireFormat({ maxDepth: 200 }).decode(`{"type":"call","id":1,"command":"a.b","input":${deep(150)}}`)
        .ok,
    ).toBe(true);
    expect(() => jsonWireFormat({ maxDepth: 0 })).toThrow('maxDepth must be an integer of 1 or more');
  });
});
