import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { DEFAULT_MAX_DEPTH } from '../../../src/wire/bounded-json.js';
import { decodeRequest, decodeResponse } from '../../../src/wire/buster/index.js';

/** Frames as Buster clients and servers write them (docs/wire-buster.md). */
const GOLDEN_REQUESTS = [
  '{"route":"/sql/run","payload":{"sql":"select 1"}}',
  '{"route":"/threads/get","payload":{"id":"42"}}',
  '{"route":"/threads/post","payload":{"id":"t1","text":"hi","sendMethod":"AllButSender"}}',
  '{"route":"/chats/list"}',
];
const GOLDEN_RESPONSES = [
  '{"route":"/sql/run","event":"runSql","payload":{"rows":[{"n":1}]},"sent_by":{"id":"u1","name":"alice@example.com"},"error":null,"send_method":"SenderOnly"}',
  '{"route":"/threads","event":"joinedThread","payload":{"id":"t1"},"sent_by":null,"error":null,"send_method":"All"}',
  '{"route":"/sql/run","event":"runSql","payload":null,"sent_by":{"id":"u1","name":"Eve"},"error":{"code":"BAD_REQUEST","message":"invalid payload"},"send_method":"SenderOnly"}',
];

const nest = (depth: number, inner = '0') => `${'['.repeat(depth)}${inner}${']'.repeat(depth)}`;

/** The golden frame with its `payload` replaced by `payload` (raw JSON text). */
const withPayload = (golden: string, payload: string) =>
  JSON.stringify({ ...JSON.parse(golden), payload: '\u0000' }).replace('"\\u0000"', () => payload);

describe('the Buster decoders bound nesting before parsing', () => {
  test('a request nested 5,000 deep is BAD_MESSAGE, with the route it opens with', () => {
    expect(decodeRequest(`{"route":"/sql/run","payload":${nest(5000)}}`)).toEqual({
      ok: false,
      error: { code: 'BAD_MESSAGE', message: `nested deeper than ${DEFAULT_MAX_DEPTH} levels` },
      tooDeep: { route: '/sql/run' },
    });
  });

  test('a too-deep request whose route does not come first is refused without a route', () => {
    expect(decodeRequest(`{"payload":${nest(100)},"route":"/sql/run"}`)).toEqual({
      ok: false,
      error: { code: 'BAD_MESSAGE', message: 'nested deeper than 64 levels' },
      tooDeep: {},
    });
  });

  test('the frame counts as one level: 64 levels in all are read, 65 are refused', () => {
    // The frame object is level 1, so a payload of 63 nested arrays makes 64.
    expect(decodeRequest(`{"route":"/a/b","payload":${nest(63)}}`)).toMatchObject({ ok: true });
    expect(decodeRequest(`{"route":"/a/b","payload":${nest(64)}}`)).toMatchObject({
      ok: false,
      tooDeep: { route: '/a/b' },
    });
  });

  test('maxDepth is an option of both decoders', () => {
    const frame = `{"route":"/a/b","payload":${nest(3)}}`;
    expect(decodeRequest(frame, { maxDepth: 4 })).toMatchObject({ ok: true });
    expect(decodeRequest(frame, { maxDepth: 3 })).toMatchObject({
      ok: false,
      error: { code: 'BAD_MESSAGE', message: 'nested deeper than 3 levels' },
    });
    const response = withPayload(GOLDEN_RESPONSES[0] as string, nest(3));
    expect(decodeResponse(response, { maxDepth: 4 })).toMatchObject({ ok: true });
    expect(decodeResponse(response, { maxDepth: 3 })).toEqual({
      ok: false,
      error: { code: 'BAD_MESSAGE', message: 'nested deeper than 3 levels' },
    });
  });

  test('a response nested 100,000 deep is BAD_MESSAGE, not a stack overflow', () => {
    expect(decodeResponse(withPayload(GOLDEN_RESPONSES[0] as string, nest(100_000)))).toEqual({
      ok: false,
      error: { code: 'BAD_MESSAGE', message: 'nested deeper than 64 levels' },
    });
  });
});

/** Any JSON text, sometimes nested past the limit, sometimes with `__proto__` / `constructor` keys. */
const hostilePayload = fc.oneof(
  fc.json({ depthSize: 'large' }),
  fc.integer({ min: 1, max: 3000 }).map((depth) => nest(depth)),
  fc.integer({ min: 1, max: 3000 }).map((depth) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`),
  fc
    .jsonValue()
    .map(
      (value) =>
        `{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}},"x":${JSON.stringify(value)}}`,
    ),
);

/** A golden frame changed the way a hostile peer would: payload swapped, cut short, bytes flipped. */
function mutated(goldens: readonly string[]) {
  return fc
    .tuple(fc.constantFrom(...goldens), hostilePayload, fc.nat(), fc.nat(), fc.integer({ min: 0, max: 3 }))
    .map(([golden, payload, cut, at, kind]) => {
      const text = withPayload(golden, payload);
      if (kind === 1) return text.slice(0, cut % (text.length + 1));
      if (kind === 2) {
        const i = at % text.length;
        return `${text.slice(0, i)}${String.fromCharCode(cut % 128)}${text.slice(i + 1)}`;
      }
      if (kind === 3) return `${text.slice(0, at % (text.length + 1))}${'['.repeat(cut % 200)}`;
      return text;
    });
}

function assertNotPolluted() {
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  expect(Object.prototype).not.toHaveProperty('polluted');
}

describe('the Buster decoders on frames derived from golden ones (property)', () => {
  test('decodeRequest never throws and returns a typed request or a typed error', () => {
    fc.assert(
      fc.property(mutated(GOLDEN_REQUESTS), (frame) => {
        const decoded = decodeRequest(frame);
        if (decoded.ok) {
          expect(typeof decoded.request.route).toBe('string');
          expect(decoded.request.payload).not.toBeUndefined();
        } else {
          expect(decoded.error.code).toBe('BAD_MESSAGE');
          expect(typeof decoded.error.message).toBe('string');
          if (decoded.tooDeep?.route !== undefined) expect(typeof decoded.tooDeep.route).toBe('string');
        }
        assertNotPolluted();
      }),
      { numRuns: 1500 },
    );
  });

  test('decodeResponse never throws and returns a typed response or a typed error', () => {
    fc.assert(
      fc.property(mutated(GOLDEN_RESPONSES), (frame) => {
        const decoded = decodeResponse(frame);
        if (decoded.ok) {
          const { route, event, sent_by, error, send_method } = decoded.response;
          expect([typeof route, typeof event]).toEqual(['string', 'string']);
          expect(['SenderOnly', 'AllButSender', 'All']).toContain(send_method);
          if (sent_by !== null)
            expect([typeof sent_by.id, typeof sent_by.name]).toEqual(['string', 'string']);
          if (error !== null) expect(typeof error.message).toBe('string');
        } else expect(decoded.error.code).toBe('BAD_MESSAGE');
        assertNotPolluted();
      }),
      { numRuns: 1500 },
    );
  });

  test('__proto__ keys in a payload stay plain data: no prototype changes, no pollution', () => {
    fc.assert(
      fc.property(fc.constantFrom(...GOLDEN_REQUESTS), fc.jsonValue(), (golden, value) => {
        const payload = `{"__proto__":${JSON.stringify(value)},"constructor":{"prototype":{"polluted":true}}}`;
        const decoded = decodeRequest(withPayload(golden, payload));
        expect(decoded.ok).toBe(true);
        if (!decoded.ok) return;
        const read = decoded.request.payload as Record<string, unknown>;
        expect(Object.getPrototypeOf(read)).toBe(Object.prototype);
        expect(Object.hasOwn(read, '__proto__')).toBe(true);
        expect(Object.getOwnPropertyDescriptor(read, '__proto__')?.value).toEqual(
          JSON.parse(JSON.stringify(value)),
        );
        assertNotPolluted();
      }),
      { numRuns: 500 },
    );
  });
});
