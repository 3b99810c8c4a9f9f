import { describe, expect, test } from 'vitest';
import {
  decodeFrame,
  encodeFrame,
  FRAME_TYPES,
  type Frame,
  MAX_ITEM_DEPTH,
  responseTypeOf,
} from '../../../src/wire/sandbox-sync/index.js';

const ID = '5f0c7a8e-2d1b-4c3a-9e8f-0a1b2c3d4e5f';
const HASH = '9b74c9897bac770ffc029102a200c5de3c5e8e5ed1c0c2d6a1f6f0b8d3c4e5f6';
const TEMPLATE = {
  metadata: { name: 'python-3.12', labels: { 'agentbox.io/sync-source': 'global' } },
  spec: { image: 'python:3.12', cpu: '1' },
};

/**
 * One golden frame per type: the exact text the origin's `conn.WriteJSON(frame)` puts on the wire
 * (Go field order, zero values omitted, `"type"` always present, a trailing newline).
 */
const GOLDEN: readonly (readonly [Frame, string])[] = [
  [
    {
      type: 'key_sync',
      tokenHash: HASH,
      hashPrefix: '9b74c9897bac770f',
      name: 'agentbox-apikey-9b74c9897bac770f',
      namespace: 'team-a',
      role: 'tenant',
      user: 'ada',
      team: 'a',
      issuedAt: '2026-11-25T19:51:00Z',
    },
    `{"type":"key_sync","tokenHash":"${HASH}","hashPrefix":"9b74c9897bac770f","name":"agentbox-apikey-9b74c9897bac770f","namespace":"team-a","role":"tenant","user":"ada","team":"a","issuedAt":"2026-11-25T19:51:00Z"}\n`,
  ],
  [
    { type: 'key_delete_sync', name: 'agentbox-apikey-9b74c9897bac770f' },
    '{"type":"key_delete_sync","name":"agentbox-apikey-9b74c9897bac770f"}\n',
  ],
  [
    {
      type: 'key_snapshot',
      items: [
        {
          type: '',
          tokenHash: HASH,
          hashPrefix: '9b74c9897bac770f',
          name: 'agentbox-apikey-9b74c9897bac770f',
        },
      ],
    },
    `{"type":"key_snapshot","items":[{"type":"","tokenHash":"${HASH}","hashPrefix":"9b74c9897bac770f","name":"agentbox-apikey-9b74c9897bac770f"}]}\n`,
  ],
  [
    {
      id: ID,
      type: 'key_create_resp',
      ok: true,
      rawToken: 'agbx_00ff',
      keyId: 'agentbox-apikey-9b74c9897bac770f',
      hashPrefix: '9b74c9897bac770f',
      issuedAt: '2026-11-25T19:51:00Z',
    },
    `{"id":"${ID}","type":"key_create_resp","hashPrefix":"9b74c9897bac770f","issuedAt":"2026-11-25T19:51:00Z","ok":true,"rawToken":"agbx_00ff","keyId":"agentbox-apikey-9b74c9897bac770f"}\n`,
  ],
  [
    { id: ID, type: 'key_delete_resp', ok: false, error: 'api key not found', httpStatus: 404 },
    `{"id":"${ID}","type":"key_delete_resp","error":"api key not found","httpStatus":404}\n`,
  ],
  [
    {
      id: ID,
      type: 'key_create',
      namespace: 'team-a',
      role: '',
      user: 'ada',
      team: 'a',
      description: 'ci <bot> & co',
      expiresAt: '2027-01-01T00:00:00Z',
    },
    `{"id":"${ID}","type":"key_create","namespace":"team-a","user":"ada","team":"a","description":"ci \\u003cbot\\u003e \\u0026 co","expiresAt":"2027-01-01T00:00:00Z"}\n`,
  ],
  [
    { id: ID, type: 'key_delete', name: 'agentbox-apikey-9b74c9897bac770f' },
    `{"id":"${ID}","type":"key_delete","name":"agentbox-apikey-9b74c9897bac770f"}\n`,
  ],
  [
    { type: 'template_snapshot', items: [{ type: 'template_sync', templateFull: TEMPLATE }] },
    '{"type":"template_snapshot","items":[{"type":"template_sync","templateFull":{"metadata":{"name":"python-3.12","labels":{"agentbox.io/sync-source":"global"}},"spec":{"image":"python:3.12","cpu":"1"}}}]}\n',
  ],
  [
    { type: 'template_sync', templateFull: TEMPLATE },
    '{"type":"template_sync","templateFull":{"metadata":{"name":"python-3.12","labels":{"agentbox.io/sync-source":"global"}},"spec":{"image":"python:3.12","cpu":"1"}}}\n',
  ],
  [
    { type: 'template_delete_sync', name: 'python-3.12' },
    '{"type":"template_delete_sync","name":"python-3.12"}\n',
  ],
  [
    { id: ID, type: 'template_create_resp', ok: true, name: 'python-3.12' },
    `{"id":"${ID}","type":"template_create_resp","name":"python-3.12","ok":true}\n`,
  ],
  [
    { id: ID, type: 'template_update_resp', error: 'template not found', httpStatus: 404 },
    `{"id":"${ID}","type":"template_update_resp","error":"template not found","httpStatus":404}\n`,
  ],
  [
    { id: ID, type: 'template_delete_resp', error: 'name is required', httpStatus: 400 },
    `{"id":"${ID}","type":"template_delete_resp","error":"name is required","httpStatus":400}\n`,
  ],
  [
    { id: ID, type: 'template_create', templateFull: TEMPLATE },
    `{"id":"${ID}","type":"template_create","templateFull":{"metadata":{"name":"python-3.12","labels":{"agentbox.io/sync-source":"global"}},"spec":{"image":"python:3.12","cpu":"1"}}}\n`,
  ],
  [
    { id: ID, type: 'template_update', templateFull: { metadata: { name: 'x' }, spec: {} } },
    `{"id":"${ID}","type":"template_update","templateFull":{"metadata":{"name":"x"},"spec":{}}}\n`,
  ],
  [
    { id: ID, type: 'template_delete', name: 'python-3.12' },
    `{"id":"${ID}","type":"template_delete","name":"python-3.12"}\n`,
  ],
  [
    {
      type: 'cluster_config_snapshot',
      configSnapshot: {
        clusters: [{ id: 'a', name: 'A', url: 'https://a.internal', headers: { 'X-Env': 'prod' } }],
        hostAliases: [{ ip: '10.0.0.7', hostnames: ['a.internal'] }],
      },
    },
    '{"type":"cluster_config_snapshot","configSnapshot":{"clusters":[{"id":"a","name":"A","url":"https://a.internal","headers":{"X-Env":"prod"}}],"hostAliases":[{"ip":"10.0.0.7","hostnames":["a.internal"]}]}}\n',
  ],
  [
    {
      type: 'cluster_config_sync',
      configSnapshot: { clusters: [{ id: 'b', name: '', url: 'http://b:8080' }] },
    },
    '{"type":"cluster_config_sync","configSnapshot":{"clusters":[{"id":"b","name":"","url":"http://b:8080"}]}}\n',
  ],
];

describe('golden frames', () => {
  test('cover every frame type of the protocol', () => {
    expect(new Set(GOLDEN.map(([frame]) => frame.type))).toEqual(new Set(FRAME_TYPES));
    expect(FRAME_TYPES).toHaveLength(18);
  });

  test.each(GOLDEN.map(([frame, text]) => [frame.type, frame, text] as const))(
    '%s encodes to the exact bytes and decodes back',
    (_type, frame, text) => {
      expect(encodeFrame(frame)).toBe(text);
      const decoded = decodeFrame(text);
      expect(decoded.ok).toBe(true);
      if (decoded.ok) expect(encodeFrame(decoded.frame)).toBe(text);
    },
  );

  test('a frame with only a type keeps "type" and nothing else, even when lists are empty', () => {
    expect(encodeFrame({ type: 'key_snapshot', items: [] })).toBe('{"type":"key_snapshot"}\n');
    expect(encodeFrame({ type: 'key_delete_resp', ok: false, httpStatus: 0, error: '' })).toBe(
      '{"type":"key_delete_resp"}\n',
    );
  });

  test('U+2028 and U+2029 are escaped as Go does', () => {
    expect(encodeFrame({ type: 'key_sync', description: 'a\u2028b\u2029c' })).toBe(
      '{"type":"key_sync","description":"a\\u2028b\\u2029c"}\n',
    );
  });

  test('the response type of every request is its name with _resp', () => {
    expect(responseTypeOf('key_create')).toBe('key_create_resp');
    expect(responseTypeOf('template_update')).toBe('template_update_resp');
  });
});

describe('decodeFrame', () => {
  test('drops zero values and unknown keys, as Go leaves them zero', () => {
    expect(
      decodeFrame('{"type":"key_delete","id":"","name":"k","ok":false,"httpStatus":0,"items":[],"extra":1}'),
    ).toEqual({ ok: true, frame: { type: 'key_delete', name: 'k' } });
  });

  test('matches keys case-insensitively, as encoding/json does', () => {
    expect(decodeFrame('{"TYPE":"key_delete","Name":"k","HTTPSTATUS":400}')).toEqual({
      ok: true,
      frame: { type: 'key_delete', name: 'k', httpStatus: 400 },
    });
  });

  test('treats null as absent', () => {
    expect(decodeFrame('{"type":"template_sync","templateFull":null,"name":null}')).toEqual({
      ok: true,
      frame: { type: 'template_sync' },
    });
  });

  test('reads binary messages as UTF-8 JSON, as ReadJSON does', () => {
    expect(decodeFrame(new TextEncoder().encode('{"type":"key_delete_sync","name":"n"}'))).toEqual({
      ok: true,
      frame: { type: 'key_delete_sync', name: 'n' },
    });
  });

  test('keeps a snapshot item with an empty or missing type, and a null item as an empty one', () => {
    expect(decodeFrame('{"type":"key_snapshot","items":[{"name":"a"},null,{"type":"","name":"b"}]}')).toEqual(
      {
        ok: true,
        frame: {
          type: 'key_snapshot',
          items: [{ type: '', name: 'a' }, { type: '' }, { type: '', name: 'b' }],
        },
      },
    );
  });

  test.each([
    ['not JSON', '{"type":', 'BAD_FRAME', /^malformed JSON/],
    ['an array', '[]', 'BAD_FRAME', /^a frame must be a JSON object$/],
    ['null', 'null', 'BAD_FRAME', /^a frame must be a JSON object$/],
    ['a number type', '{"type":7}', 'BAD_FRAME', /^field "type" must be a string$/],
    ['a number name', '{"type":"key_delete","name":1}', 'BAD_FRAME', /^field "name" must be a string$/],
    ['a string ok', '{"type":"key_delete_resp","ok":"true"}', 'BAD_FRAME', /^field "ok" must be a boolean$/],
    [
      'a fractional status',
      '{"type":"key_delete_resp","httpStatus":4.5}',
      'BAD_FRAME',
      /^field "httpStatus" must be an integer$/,
    ],
    [
      'items not a list',
      '{"type":"key_snapshot","items":{}}',
      'BAD_FRAME',
      /^field "items" must be an array$/,
    ],
    ['a bad item', '{"type":"key_snapshot","items":[1]}', 'BAD_FRAME', /^items\[0\] must be an object$/],
    [
      'a bad field in an item',
      '{"type":"key_snapshot","items":[{"ok":1}]}',
      'BAD_FRAME',
      /^items\[0\]: field "ok"/,
    ],
    ['an unknown type', '{"type":"key_rotate"}', 'UNKNOWN_TYPE', /^unknown frame type "key_rotate"$/],
    ['a missing type', '{"name":"x"}', 'UNKNOWN_TYPE', /^unknown frame type ""$/],
  ])('rejects %s with %s', (_what, text, code, message) => {
    const decoded = decodeFrame(text);
    expect(decoded.ok).toBe(false);
    if (!decoded.ok) {
      expect(decoded.error.code).toBe(code);
      expect(decoded.error.message).toMatch(message);
    }
  });

  test('keeps the id of a rejected frame so it can be correlated', () => {
    expect(decodeFrame('{"id":"r1","type":"key_delete","name":false}')).toEqual({
      ok: false,
      error: { code: 'BAD_FRAME', message: 'field "name" must be a string', id: 'r1' },
    });
    expect(decodeFrame('{"id":"r2","type":"nope"}')).toEqual({
      ok: false,
      error: { code: 'UNKNOWN_TYPE', message: 'unknown frame type "nope"', type: 'nope', id: 'r2' },
    });
  });

  test(`refuses items nested deeper than ${MAX_ITEM_DEPTH}`, () => {
    let item = '{"name":"leaf"}';
    for (let i = 0; i < MAX_ITEM_DEPTH; i++) item = `{"items":[${item}]}`;
    const decoded = decodeFrame(`{"type":"key_snapshot","items":[${item}]}`);
    expect(decoded.ok).toBe(false);
    if (!decoded.ok) expect(decoded.error.message).toContain(`nested deeper than ${MAX_ITEM_DEPTH}`);
  });
});

test('raw JSON fields are written whenever present, even as [], 0 or ""', () => {
  expect(encodeFrame({ type: 'cluster_config_sync', configSnapshot: [] })).toBe(
    '{"type":"cluster_config_sync","configSnapshot":[]}\n',
  );
  expect(encodeFrame({ type: 'template_sync', templateFull: '' })).toBe(
    '{"type":"template_sync","templateFull":""}\n',
  );
  expect(decodeFrame('{"type":"template_sync","templateFull":0}')).toEqual({
    ok: true,
    frame: { type: 'template_sync', templateFull: 0 },
  });
});

test('control characters are escaped as Go 1.22+ does: \\b \\f \\n \\r \\t short, others \\u00xx', () => {
  expect(encodeFrame({ type: 'key_sync', description: 'a\b\f\n\r\t\u0001\u001f\u007f"\\' })).toBe(
    '{"type":"key_sync","description":"a\\b\\f\\n\\r\\t\\u0001\\u001f\u007f\\"\\\\"}\n',
  );
});
