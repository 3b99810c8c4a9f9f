import { describe, expect, test } from 'vitest';
import {
  decodeRequest,
  decodeResponse,
  encodeRequest,
  encodeResponse,
  SERIALIZE_FAILURE_MESSAGE,
  type WsResponseMessage,
} from '../../../src/wire/buster/index.js';

const alice = { id: '5f0f6a0e-6a8c-4d37-9d3e-1a2b3c4d5e6f', name: 'alice@example.com' };

/** Every response shape with its exact text: Buster's field order, snake_case, PascalCase send_method. */
const responses: [string, WsResponseMessage, string][] = [
  [
    'a route result, SenderOnly',
    {
      route: '/sql/run',
      event: 'runSql',
      payload: { rows: [{ n: 1 }] },
      sent_by: alice,
      error: null,
      send_method: 'SenderOnly',
    },
    '{"route":"/sql/run","event":"runSql","payload":{"rows":[{"n":1}]},"sent_by":{"id":"5f0f6a0e-6a8c-4d37-9d3e-1a2b3c4d5e6f","name":"alice@example.com"},"error":null,"send_method":"SenderOnly"}',
  ],
  [
    'a thread message to everyone but the sender',
    {
      route: '/chats/messages/update',
      event: 'updateChatsMessages',
      payload: { text: 'hi' },
      sent_by: alice,
      error: null,
      send_method: 'AllButSender',
    },
    '{"route":"/chats/messages/update","event":"updateChatsMessages","payload":{"text":"hi"},"sent_by":{"id":"5f0f6a0e-6a8c-4d37-9d3e-1a2b3c4d5e6f","name":"alice@example.com"},"error":null,"send_method":"AllButSender"}',
  ],
  [
    'a push without a sender to all',
    {
      route: '/threads',
      event: 'joinedThread',
      payload: null,
      sent_by: null,
      error: null,
      send_method: 'All',
    },
    '{"route":"/threads","event":"joinedThread","payload":null,"sent_by":null,"error":null,"send_method":"All"}',
  ],
  ...(['INTERNAL_SERVER_ERROR', 'NOT_FOUND', 'UNAUTHORIZED', 'BAD_REQUEST'] as const).map(
    (code): [string, WsResponseMessage, string] => [
      `an error ${code}`,
      {
        route: '/sql/run',
        event: 'runSql',
        payload: null,
        sent_by: alice,
        error: { code, message: 'it failed' },
        send_method: 'SenderOnly',
      },
      `{"route":"/sql/run","event":"runSql","payload":null,"sent_by":{"id":"5f0f6a0e-6a8c-4d37-9d3e-1a2b3c4d5e6f","name":"alice@example.com"},"error":{"code":"${code}","message":"it failed"},"send_method":"SenderOnly"}`,
    ],
  ),
];

describe('Buster responses', () => {
  test.each(responses)('encodes %s exactly', (_name, message, text) => {
    expect(encodeResponse(message)).toBe(text);
  });

  test.each(responses)('decodes %s back to the same message', (_name, message, text) => {
    expect(decodeResponse(text)).toEqual({ ok: true, response: message });
    expect(decodeResponse(new TextEncoder().encode(text))).toEqual({ ok: true, response: message });
  });

  test('a payload JSON cannot carry becomes null with INTERNAL_SERVER_ERROR "Failed to serialize data"', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    for (const payload of [10n, cyclic]) {
      expect(
        encodeResponse({
          route: '/sql/run',
          event: 'runSql',
          payload,
          sent_by: alice,
          error: null,
          send_method: 'All',
        }),
      ).toBe(
        `{"route":"/sql/run","event":"runSql","payload":null,"sent_by":{"id":"${alice.id}","name":"alice@example.com"},"error":{"code":"INTERNAL_SERVER_ERROR","message":"${SERIALIZE_FAILURE_MESSAGE}"},"send_method":"All"}`,
      );
    }
  });

  test('an undefined payload is written as null, as serde writes a unit', () => {
    expect(
      encodeResponse({
        route: '/a/b',
        event: 'bA',
        payload: undefined,
        sent_by: null,
        error: null,
        send_method: 'All',
      }),
    ).toBe('{"route":"/a/b","event":"bA","payload":null,"sent_by":null,"error":null,"send_method":"All"}');
  });

  test('missing sent_by, error and payload read as null', () => {
    expect(decodeResponse('{"route":"/a/b","event":"bA","send_method":"All"}')).toEqual({
      ok: true,
      response: { route: '/a/b', event: 'bA', payload: null, sent_by: null, error: null, send_method: 'All' },
    });
  });

  test.each([
    ['not JSON', '{', 'malformed JSON'],
    ['an array', '[]', 'a response must be a JSON object'],
    ['no route', '{"event":"x","send_method":"All"}', 'fields "route" and "event" must be strings'],
    [
      'a lower-case send_method',
      '{"route":"/a/b","event":"x","send_method":"all"}',
      'field "send_method" must be SenderOnly, AllButSender or All',
    ],
    [
      'a sent_by without name',
      '{"route":"/a/b","event":"x","send_method":"All","sent_by":{"id":"u"}}',
      'field "sent_by" must be null or {id: string, name: string}',
    ],
    [
      'an unknown error code',
      '{"route":"/a/b","event":"x","send_method":"All","error":{"code":"TEAPOT","message":"m"}}',
      'field "error" must be null or {code: a WsErrorCode, message: string}',
    ],
  ])('refuses a response with %s', (_name, text, message) => {
    expect(decodeResponse(text)).toEqual({ ok: false, error: { code: 'BAD_MESSAGE', message } });
  });

  test('refuses bytes that are not UTF-8', () => {
    expect(decodeResponse(Uint8Array.of(0xff, 0xfe))).toEqual({
      ok: false,
      error: { code: 'BAD_MESSAGE', message: 'a response must be UTF-8 text' },
    });
  });
});

describe('Buster requests', () => {
  test('encodes a request exactly', () => {
    expect(encodeRequest({ route: '/sql/run', payload: { sql: 'select 1' } })).toBe(
      '{"route":"/sql/run","payload":{"sql":"select 1"}}',
    );
  });

  test('decodes a request', () => {
    expect(decodeRequest('{"route":"/sql/run","payload":{"sql":"select 1"}}')).toEqual({
      ok: true,
      request: { route: '/sql/run', payload: { sql: 'select 1' } },
    });
  });

  test('a missing payload is null and unknown fields are ignored, as serde reads them', () => {
    expect(decodeRequest('{"route":"/chats/list","extra":1}')).toEqual({
      ok: true,
      request: { route: '/chats/list', payload: null },
    });
  });

  test('a binary frame is UNSUPPORTED_FRAME (the server ignores it)', () => {
    expect(decodeRequest(new TextEncoder().encode('{"route":"/sql/run","payload":{}}'))).toEqual({
      ok: false,
      error: { code: 'UNSUPPORTED_FRAME', message: 'binary frames are ignored on the Buster wire' },
    });
  });

  test.each([
    ['not JSON', 'route=/sql/run', 'malformed JSON'],
    ['a string', '"/sql/run"', 'a request must be a JSON object'],
    ['null', 'null', 'a request must be a JSON object'],
    ['a numeric route', '{"route":1,"payload":{}}', 'field "route" must be a string'],
    ['no route', '{"payload":{}}', 'field "route" must be a string'],
  ])('refuses %s with BAD_MESSAGE (the server drops it)', (_name, text, message) => {
    expect(decodeRequest(text)).toEqual({ ok: false, error: { code: 'BAD_MESSAGE', message } });
  });
});
