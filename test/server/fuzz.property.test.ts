import fc from 'fast-check';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { CLOSE_CODES } from '../../src/protocol/close-codes.js';
import { type Harness, startHarness } from '../support/harness.js';

const documentedCloses: number[] = Object.values(CLOSE_CODES).map((entry) => entry.code);
const messageTypes = [
  'hello',
  'auth',
  'call',
  'cancel',
  'ping',
  'pong',
  'result',
  'item',
  'end',
  'error',
  'event',
  'goodbye',
  'welcome',
  'challenge',
  'junk',
];

/** Messages shaped like the real ones, with fields of the right names and random (often wrong) values. */
const nearlyValid = fc
  .record(
    {
      type: fc.constantFrom(...messageTypes),
      id: fc.oneof(fc.nat(), fc.string(), fc.constant(-1), fc.constant(null), fc.double()),
      command: fc.oneof(
        fc.constantFrom('math.add', 'math.divide', 'slow.wait', 'logs.tail', 'nope'),
        fc.string(),
        fc.integer(),
      ),
      input: fc.jsonValue(),
      ts: fc.oneof(fc.double(), fc.string()),
      at: fc.oneof(fc.double(), fc.string()),
      wire: fc.oneof(fc.constant(1), fc.jsonValue()),
    },
    { requiredKeys: ['type'] },
  )
  .map((message) => JSON.stringify(message));

const frame = fc.oneof(nearlyValid, fc.string(), fc.json(), fc.uint8Array({ maxLength: 64 }));

let harness: Harness;
beforeAll(async () => {
  // Every run opens a connection from the same (memory) address, far faster than a person would.
  harness = await startHarness({
    limits: {
      ratePerSecond: 1_000_000,
      rateBurst: 1_000_000,
      connectRatePerAddress: Number.POSITIVE_INFINITY,
    },
  });
});
afterAll(() => harness.close());

test('arbitrary frames after the handshake never crash the server: each gets an answer or a documented close', async () => {
  const bystander = harness.client();
  await bystander.ready();
  await fc.assert(
    fc.asyncProperty(fc.array(frame, { minLength: 1, maxLength: 8 }), async (frames) => {
      const peer = harness.raw();
      await peer.handshake();
      for (const f of frames) peer.send(f);
      // A ping last: if the connection survived everything, its pong proves the server still answers.
      peer.send({ type: 'ping', ts: 424242 });
      const outcome = await Promise.race([
        peer.next((m) => m.type === 'pong' && m.ts === 424242).then(() => 'answered'),
        peer.closed.then(({ code }) => code),
      ]);
      if (outcome !== 'answered') expect(documentedCloses).toContain(outcome);
      peer.socket.close(1000);
    }),
    { numRuns: 150 },
  );
  expect(await bystander.call('math.add', { a: 1, b: 2 })).toEqual({ sum: 3 });
  expect(harness.records.filter((r) => r.level === 'error')).toEqual([]);
});
