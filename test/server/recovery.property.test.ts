import fc from 'fast-check';
import { expect, test } from 'vitest';
import { startHarness } from '../support/harness.js';

type Step = { kind: 'publish'; count: number } | { kind: 'drop' };
const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant('publish' as const), count: fc.integer({ min: 1, max: 8 }) }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'drop' as const }) },
);

test('whatever the interleaving of publications and dropped connections, a subscriber gets each publication once, in order', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 12 }), async (steps) => {
      const harness = await startHarness();
      try {
        const client = harness.client({ reconnect: { initialDelayMs: 1, maxDelayMs: 5 } });
        const got: number[] = [];
        const gaps: string[] = [];
        await client.subscribe('ticks.prices', { symbol: 'P' }, (n) => got.push(n), {
          onGap: (g) => gaps.push(g.reason),
        }).ready;
        let published = 0;
        for (const s of steps) {
          if (s.kind === 'publish') {
            for (let i = 0; i < s.count; i++)
              await harness.server.publish('ticks.prices', { symbol: 'P' }, ++published);
          } else {
            harness.sockets.at(-1)!.terminate();
          }
        }
        const deadline = Date.now() + 5000;
        while (got.length < published && Date.now() < deadline)
          await new Promise((resolve) => setTimeout(resolve, 2));
        expect(got).toEqual(Array.from({ length: published }, (_, i) => i + 1));
        expect(gaps).toEqual([]);
      } finally {
        await harness.close();
      }
    }),
    { numRuns: 40 },
  );
}, 60_000);
