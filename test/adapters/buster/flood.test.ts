import { afterAll, expect, test } from 'vitest';
import { FloodNode, flood, Witness } from './flood.js';

/** docs/wire-buster.md, "Floods": RSS after a 20,000-request flood and a GC, over where it started. */
const FLOOD_RSS_BOUND_BYTES = 64 * 1024 * 1024;

const nodes: FloodNode[] = [];
afterAll(() => {
  for (const node of nodes) node.stop();
});

const resultFrame = (userId: string, n: number) =>
  `{"route":"/sql/run","event":"runSql","payload":{"rows":[{"n":${n}}]},"sent_by":{"id":"${userId}","name":"flooder"},"error":null,"send_method":"SenderOnly"}`;

test('a 20,000-request flood from one client: documented refusals, close 4202, the witness served exactly, RSS back within the bound', async () => {
  const node = await FloodNode.start();
  nodes.push(node);
  const witness = await Witness.open(node);
  for (let i = 1; i <= 20; i++) await witness.call(i);
  const before = await node.memory();

  witness.start();
  const outcome = await flood(node, 20_000);
  // A few more after the flood: whatever it left behind must not delay or lose these.
  await witness.stop();
  for (let i = 1; i <= 20; i++) await witness.call(i);
  const after = await node.memory();

  expect(node.alive).toBe(true);
  expect({ lost: witness.lost, wrong: witness.wrong }).toEqual({ lost: 0, wrong: [] });
  expect(witness.sent).toBeGreaterThan(40);

  expect(outcome.close).toEqual({ code: 4202, reason: 'kept sending past the rate limit' });
  const kinds = { result: 0, inFlight: 0, rateLimited: 0, other: [] as unknown[] };
  for (const reply of outcome.replies) {
    const text = JSON.stringify(reply);
    const sentBy = reply.sent_by?.id as string;
    if (reply.error === null && text === resultFrame(sentBy, reply.payload.rows[0].n)) kinds.result++;
    else if (
      text ===
      `{"route":"/sql/run","event":"runSql","payload":null,"sent_by":{"id":"${sentBy}","name":"flooder"},"error":{"code":"BAD_REQUEST","message":"TOO_MANY_IN_FLIGHT: at most 64 requests may run at once on one connection"},"send_method":"SenderOnly"}`
    )
      kinds.inFlight++;
    else if (
      reply.error?.code === 'BAD_REQUEST' &&
      /^RATE_LIMITED: more than 1000 requests per second; retry after [1-9]\d* ms$/.test(
        reply.error.message,
      ) &&
      reply.payload === null &&
      reply.route === '/sql/run'
    )
      kinds.rateLimited++;
    else kinds.other.push(reply);
  }
  expect(kinds.other).toEqual([]);
  expect(kinds.inFlight).toBeGreaterThan(0);
  expect(kinds.rateLimited).toBeGreaterThan(0);
  // One RATE_LIMITED per debt period, not one per refused frame: far fewer than the ~2,000 refused.
  expect(kinds.rateLimited).toBeLessThan(50);
  // Only requests that took a token are answered at all (the burst, plus what refilled meanwhile).
  expect(kinds.result + kinds.inFlight).toBeLessThanOrEqual(4000);

  expect(after.rss - before.rss).toBeLessThanOrEqual(FLOOD_RSS_BOUND_BYTES);
}, 60_000);
