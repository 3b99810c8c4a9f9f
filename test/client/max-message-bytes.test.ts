import { afterEach, describe, expect, test } from 'vitest';
import { type Harness, startHarness } from '../support/harness.js';

const MAX = 1024;
/** Bytes of `{"type":"call","id":1,"command":"math.add","input":{"a":1,"b":2,"pad":""}}` (the first call). */
const OVERHEAD = 74;

let harness: Harness;
afterEach(() => harness?.close());

/** The outcome of a fresh client's first call (id 1) padded with `pad`: its error code and message, or `sent`. */
async function firstCall(pad: string): Promise<string[]> {
  const client = harness.client();
  await client.ready();
  return client
    .call('math.add', { a: 1, b: 2, pad } as never)
    .then(() => ['sent'])
    .catch((error) => [error.code, error.message]);
}

const tooLarge = (size: number) => [
  'TOO_LARGE',
  `call of ${size} bytes exceeds the server's limit of ${MAX} bytes`,
];

describe("the client's maxMessageBytes check", () => {
  // Kills "maxMessageBytes off by one on the client" (`>=` for `>`, or `max + 1`): a frame of exactly
  // the limit goes out, one byte more is refused locally.
  test(`sends a call of exactly maxMessageBytes (${MAX}) and refuses ${MAX + 1} with TOO_LARGE`, async () => {
    harness = await startHarness({ limits: { maxMessageBytes: MAX } }, { maxPayload: MAX });
    expect(await firstCall('x'.repeat(MAX - OVERHEAD))).toEqual(['sent']);
    expect(await firstCall('x'.repeat(MAX - OVERHEAD + 1))).toEqual(tooLarge(MAX + 1));
  });

  // Kills "a UTF-16 length taken for the UTF-8 size": these frames are under the limit in UTF-16
  // units but over it in UTF-8 bytes, which is what the server counts.
  test.each([
    { name: '2-byte é', char: 'é', bytes: 2 },
    { name: '3-byte €', char: '€', bytes: 3 },
    { name: '4-byte 😀 (2 UTF-16 units)', char: '😀', bytes: 4 },
  ])(
    'counts $name in UTF-8 bytes: at the limit it is sent, one character more is TOO_LARGE',
    async ({ char, bytes }) => {
      harness = await startHarness({ limits: { maxMessageBytes: MAX } }, { maxPayload: MAX });
      const fits = Math.floor((MAX - OVERHEAD) / bytes);
      const atLimit = 'x'.repeat(MAX - OVERHEAD - fits * bytes) + char.repeat(fits);
      expect(new TextEncoder().encode(atLimit).byteLength + OVERHEAD).toBe(MAX);
      expect(await firstCall(atLimit)).toEqual(['sent']);
      const over = char.repeat(fits + 1);
      expect(over.length + OVERHEAD).toBeLessThan(MAX);
      expect(await firstCall(over)).toEqual(tooLarge(OVERHEAD + (fits + 1) * bytes));
    },
  );
});
