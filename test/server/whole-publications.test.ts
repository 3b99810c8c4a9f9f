import fc from 'fast-check';
import { afterEach, describe, expect, test } from 'vitest';
import { z } from 'zod';
import { defineProtocol, RequestError, topic } from '../../src/protocol/index.js';
import { testProtocol } from '../support/fixtures.js';
import { type Harness, type RawPeer, startHarness, TRANSPORTS } from '../support/harness.js';

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

/** An object nested `depth` levels deep, built without recursion. */
function nested(depth: number): unknown {
  let value: unknown = 0;
  for (let i = 0; i < depth; i++) value = { a: value };
  return value;
}

/** A topic whose schema accepts any value, and one whose schema turns a client's marker into one that cannot go out. */
const anyProtocol = defineProtocol({
  name: 'test',
  version: '1.2.0',
  resources: {
    math: { commands: { add: testProtocol.definition.resources.math.commands.add } },
    any: {
      topics: {
        values: topic({ pattern: 'any.{id}', payload: z.unknown(), publish: '*' }),
        expanded: topic({
          pattern: 'expanded.{id}',
          payload: z.unknown().transform((v) => (v === 'deep' ? nested(100_000) : v === 'big' ? 10n : v)),
          publish: '*',
        }),
      },
    },
  },
});

async function start(kind: (typeof TRANSPORTS)[number]) {
  harness = await startHarness(
    {
      protocol: anyProtocol as never,
      handlers: { math: { add: ({ a, b }: { a: number; b: number }) => ({ sum: a + b }) } } as never,
    },
    {},
    kind,
  );
  return harness;
}

const publish = (h: Harness, topicName: string, payload: unknown) =>
  (h.server.publish as (t: string, p: object, v: unknown) => Promise<{ offset: number }>)(
    topicName,
    { id: 'a' },
    payload,
  );

async function subscriber(h: Harness, topicName: string, from?: object): Promise<RawPeer> {
  const peer = h.raw();
  await peer.handshake();
  peer.send({ type: 'subscribe', id: 's', topic: topicName, params: { id: 'a' }, ...(from ? { from } : {}) });
  await peer.next((m) => m.type === 'subscribed');
  return peer;
}

/** The next `count` publications a peer receives, as [offset, payload, skipped]. */
async function publications(peer: RawPeer, count: number) {
  const got: unknown[] = [];
  for (let i = 0; i < count; i++) {
    const m = await peer.next((message) => message.type === 'publication');
    got.push([m.offset, m.payload, m.skipped ?? 0]);
  }
  return got;
}

describe.each(TRANSPORTS)('over %s, a publication is whole or refused', (kind) => {
  test('a payload nested 100,000 deep is refused to server code and takes no offset', async () => {
    const h = await start(kind);
    const live = await subscriber(h, 'any.values');
    expect(await publish(h, 'any.values', 1)).toMatchObject({ offset: 1 });
    const refusal = await publish(h, 'any.values', nested(100_000)).catch((e) => e);
    expect(refusal).toBeInstanceOf(RequestError);
    expect([refusal.code, refusal.message, refusal.data]).toEqual([
      'INVALID_INPUT',
      'payload for any.values cannot be delivered: nested deeper than 64 levels',
      { issues: [{ message: 'nested deeper than 64 levels', path: [] }] },
    ]);
    expect(await publish(h, 'any.values', 3)).toMatchObject({ offset: 2 });
    expect(await publications(live, 2)).toEqual([
      [1, 1, 0],
      [2, 3, 0],
    ]);
    const late = await subscriber(h, 'any.values', { last: 10 });
    expect(await publications(late, 2)).toEqual([
      [1, 1, 0],
      [2, 3, 0],
    ]);
  });

  test.each([
    ['a BigInt', 10n, 'cannot be encoded (Do not know how to serialize a BigInt)'],
    [
      'a cycle',
      (() => {
        const o: Record<string, unknown> = {};
        o.self = o;
        return o;
      })(),
      'nested deeper than 64 levels',
    ],
    ['an object 64 deep (65 with the envelope)', nested(64), 'nested deeper than 64 levels'],
  ])('%s is refused to server code and takes no offset', async (_, payload, why) => {
    const h = await start(kind);
    const refusal = await publish(h, 'any.values', payload).catch((e) => e);
    expect([refusal.code, refusal.message]).toEqual([
      'INVALID_INPUT',
      `payload for any.values cannot be delivered: ${why}`,
    ]);
    expect(await publish(h, 'any.values', nested(62))).toMatchObject({ offset: 1 });
  });

  test('a payload changed after it was published so that it cannot be encoded reaches late subscribers as an explicit skip', async () => {
    const h = await start(kind);
    const changing: Record<string, unknown> = { n: 1 };
    expect(await publish(h, 'any.values', changing)).toMatchObject({ offset: 1 });
    changing.n = 10n; // Application code keeps a reference and changes the published value.
    expect(await publish(h, 'any.values', 2)).toMatchObject({ offset: 2 });
    const late = await subscriber(h, 'any.values', { last: 10 });
    expect(await publications(late, 1)).toEqual([[2, 2, 1]]);
    expect(h.records.map((r) => r.message)).toContain(
      'a publication could not be encoded; subscribers see it as skipped',
    );
  });

  test('a client publication that cannot go out is refused with INVALID_INPUT and takes no offset', async () => {
    const h = await start(kind);
    const live = await subscriber(h, 'any.expanded');
    const publisher = h.raw();
    await publisher.handshake();
    const send = (id: number, payload: unknown) =>
      publisher.send({ type: 'publish', id, topic: 'any.expanded', params: { id: 'a' }, payload });
    send(1, 'first');
    expect(await publisher.next((m) => m.id === 1)).toMatchObject({ type: 'result', output: { offset: 1 } });
    send(2, 'deep');
    expect(await publisher.next((m) => m.id === 2)).toMatchObject({
      type: 'error',
      code: 'INVALID_INPUT',
      message: 'payload for any.expanded cannot be delivered: nested deeper than 64 levels',
    });
    send(3, 'big');
    expect(await publisher.next((m) => m.id === 3)).toMatchObject({
      type: 'error',
      code: 'INVALID_INPUT',
      message:
        'payload for any.expanded cannot be delivered: cannot be encoded (Do not know how to serialize a BigInt)',
    });
    send(4, 'second');
    expect(await publisher.next((m) => m.id === 4)).toMatchObject({ type: 'result', output: { offset: 2 } });
    expect(await publications(live, 2)).toEqual([
      [1, 'first', 0],
      [2, 'second', 0],
    ]);
  });
});

/** Payloads of every kind a schema that accepts anything lets through, deliverable or not. */
const payload: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: fc.jsonValue({ maxDepth: 4 }) },
  { weight: 1, arbitrary: fc.integer({ min: 60, max: 3000 }).map(nested) },
  { weight: 1, arbitrary: fc.bigInt().map((n) => ({ n })) },
  {
    weight: 1,
    arbitrary: fc.constant(null).map(() => {
      const cycle: unknown[] = [];
      cycle.push(cycle);
      return cycle;
    }),
  },
  { weight: 1, arbitrary: fc.integer({ min: 10_000, max: 200_000 }).map((n) => 'x'.repeat(n)) },
);

test('every subscriber (live, late, resuming) gets each accepted publication once, in order; refused ones take no offset', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(payload, { minLength: 1, maxLength: 12 }), async (payloads) => {
      const h = await start('memory');
      try {
        const live = await subscriber(h, 'any.values');
        // Resumes from a position taken before anything was published.
        const resuming = await subscriber(h, 'any.values', { last: 0 });
        const accepted: unknown[] = [];
        for (const value of payloads) {
          const position = await publish(h, 'any.values', value).catch((error: unknown) => {
            expect(error).toBeInstanceOf(RequestError);
            expect((error as RequestError).code).toBe('INVALID_INPUT');
            return undefined;
          });
          if (position) {
            accepted.push(JSON.parse(JSON.stringify(value)));
            expect(position.offset).toBe(accepted.length);
          }
        }
        const expected = accepted.map((value, i) => [i + 1, value, 0]);
        const { epoch } = await h.server.broker.history('any.a', {});
        resuming.socket.close(1000);
        const back = await subscriber(h, 'any.values', { epoch, offset: 0 });
        const late = await subscriber(h, 'any.values', { last: 1000 });
        for (const peer of [live, back, late])
          expect(await publications(peer, accepted.length)).toEqual(expected);
      } finally {
        await h.close();
        harness = undefined;
      }
    }),
    { numRuns: 25 },
  );
}, 60_000);
