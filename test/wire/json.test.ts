import { describe, expect, test } from 'vitest';
import { decodeJson, encodeJson } from '../../src/wire/json.js';
import type { Message } from '../../src/wire/message.js';

/** Every message kind with its exact encoding: the contract of docs/wire-json.md. */
const golden: [Message, string][] = [
  [
    { type: 'hello', protocol: 'jobs', version: '1.0.0', credentials: { apiKey: 'k' } },
    '{"type":"hello","wire":1,"protocol":"jobs","version":"1.0.0","credentials":{"apiKey":"k"}}',
  ],
  [{ type: 'challenge', challenge: { nonce: 'ab' } }, '{"type":"challenge","challenge":{"nonce":"ab"}}'],
  [{ type: 'auth', response: 'sig' }, '{"type":"auth","response":"sig"}'],
  [
    {
      type: 'welcome',
      connectionId: 'c1',
      protocol: 'jobs',
      version: '1.0.0',
      principal: { id: 'u', permissions: ['jobs:*'] },
      heartbeatMs: 15000,
      limits: { maxMessageBytes: 1048576, maxInFlight: 64, ratePerSecond: 1000 },
      expiresAt: 1700000000000,
    },
    '{"type":"welcome","connectionId":"c1","protocol":"jobs","version":"1.0.0","principal":{"id":"u","permissions":["jobs:*"]},"heartbeatMs":15000,"limits":{"maxMessageBytes":1048576,"maxInFlight":64,"ratePerSecond":1000},"expiresAt":1700000000000}',
  ],
  [
    { type: 'call', id: 1, command: 'jobs.queue', input: { name: 'x' } },
    '{"type":"call","id":1,"command":"jobs.queue","input":{"name":"x"}}',
  ],
  [
    { type: 'call', id: 'r-2', command: 'jobs.status', input: null, credential: 'h' },
    '{"type":"call","id":"r-2","command":"jobs.status","input":null,"credential":"h"}',
  ],
  [{ type: 'result', id: 1, output: { ok: true } }, '{"type":"result","id":1,"output":{"ok":true}}'],
  [{ type: 'item', id: 1, item: 'line' }, '{"type":"item","id":1,"item":"line"}'],
  [{ type: 'end', id: 1 }, '{"type":"end","id":1}'],
  [
    { type: 'error', id: 1, code: 'INVALID_INPUT', message: 'bad', data: { issues: [] } },
    '{"type":"error","id":1,"code":"INVALID_INPUT","message":"bad","data":{"issues":[]}}',
  ],
  [
    { type: 'error', code: 'INTERNAL', message: 'Internal error', traceId: '00ff00ff00ff00ff' },
    '{"type":"error","code":"INTERNAL","message":"Internal error","traceId":"00ff00ff00ff00ff"}',
  ],
  [{ type: 'cancel', id: 9 }, '{"type":"cancel","id":9}'],
  [
    { type: 'event', event: 'jobs.updated', payload: [1] },
    '{"type":"event","event":"jobs.updated","payload":[1]}',
  ],
  [{ type: 'ping', ts: 1700000000000 }, '{"type":"ping","ts":1700000000000}'],
  [{ type: 'pong', ts: 1, at: 2 }, '{"type":"pong","ts":1,"at":2}'],
  [
    { type: 'goodbye', reason: 'restart', reconnectUrl: 'ws://b:1', retryAfterMs: 100 },
    '{"type":"goodbye","reason":"restart","reconnectUrl":"ws://b:1","retryAfterMs":100}',
  ],
];

describe('the JSON wire', () => {
  test.each(golden)('encodes %o exactly, and decodes it back', (message, encoded) => {
    expect(encodeJson(message)).toBe(encoded);
    expect(decodeJson(encoded)).toEqual({ ok: true, message });
  });

  test('does not serialise the command hints of replies', () => {
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

  test('encodes an undefined output or payload as null', () => {
    expect(encodeJson({ type: 'result', id: 1, output: undefined })).toBe(
      '{"type":"result","id":1,"output":null}',
    );
    expect(encodeJson({ type: 'event', event: 'e.v', payload: undefined })).toBe(
      '{"type":"event","event":"e.v","payload":null}',
    );
  });

  const bad = (frame: string) => decodeJson(frame);
  test.each([
    ['{"type":', /^malformed JSON: /],
    ['[1,2]', /^a message must be a JSON object$/],
    ['42', /^a message must be a JSON object$/],
    ['null', /^a message must be a JSON object$/],
    ['{}', /^field "type" must be a string$/],
    ['{"type":7}', /^field "type" must be a string$/],
    ['{"type":"call","id":-1,"command":"a.b"}', /^call: field "id" must be a non-negative integer/],
    ['{"type":"call","id":1.5,"command":"a.b"}', /^call: field "id" must be/],
    ['{"type":"call","id":"","command":"a.b"}', /^call: field "id" must be/],
    [`{"type":"call","id":"${'x'.repeat(129)}","command":"a.b"}`, /^call: field "id" must be/],
    ['{"type":"cancel"}', /^cancel: field "id" must be a call id$/],
    ['{"type":"ping","ts":"now"}', /^ping: field "ts" must be a finite number$/],
    ['{"type":"pong","ts":1}', /^pong: fields "ts" and "at" must be numbers$/],
    [
      '{"type":"hello","wire":1,"protocol":3,"version":"1.0.0"}',
      /^hello: fields "protocol" and "version" must be strings$/,
    ],
    ['{"type":"error","code":1,"message":"m"}', /^error: fields "code" and "message" must be strings$/],
    ['{"type":"welcome","connectionId":"c"}', /^welcome: fields /],
  ])('rejects %s as BAD_MESSAGE', (frame, message) => {
    const decoded = bad(frame);
    expect(decoded.ok).toBe(false);
    if (decoded.ok) return;
    expect(decoded.error.code).toBe('BAD_MESSAGE');
    expect(decoded.error.message).toMatch(message);
  });

  test('keeps the id of a call whose other fields are wrong, so the error can be correlated', () => {
    expect(decodeJson('{"type":"call","id":5,"command":false}')).toEqual({
      ok: false,
      error: { code: 'BAD_MESSAGE', message: 'call: field "command" must be a string', id: 5 },
    });
    expect(decodeJson('{"type":"frobnicate","id":"q"}')).toEqual({
      ok: false,
      error: { code: 'BAD_MESSAGE', message: 'unknown message type "frobnicate"', id: 'q' },
    });
  });

  test('refuses a hello of another wire version as INCOMPATIBLE', () => {
    for (const wire of ['2', '"1"', 'null']) {
      const decoded = decodeJson(`{"type":"hello","wire":${wire},"protocol":"p","version":"1.0.0"}`);
      expect(decoded.ok ? 'ok' : decoded.error.code).toBe('INCOMPATIBLE');
    }
    const missing = decodeJson('{"type":"hello","protocol":"p","version":"1.0.0"}');
    expect(missing.ok ? undefined : missing.error).toEqual({
      code: 'INCOMPATIBLE',
      message: 'unsupported wire version undefined; this server speaks 1',
    });
  });

  test('refuses binary frames as UNSUPPORTED_FRAME', () => {
    expect(decodeJson(new Uint8Array([123, 125]))).toEqual({
      ok: false,
      error: { code: 'UNSUPPORTED_FRAME', message: 'binary frame on the JSON wire' },
    });
  });
});
