import { afterEach, describe, expect, test } from 'vitest';
import { type Harness, startHarness, TRANSPORTS, testHandlers, until } from '../support/harness.js';

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

describe.each(TRANSPORTS)('stream flow control over %s', (kind) => {
  test('the server sends exactly the window, then one more item per credit', async () => {
    harness = await startHarness({}, {}, kind);
    const peer = harness.raw();
    await peer.handshake();
    peer.send({ type: 'call', id: 1, command: 'logs.forever', input: {}, window: 5 });
    await until(() => peer.frames.length >= 5);
    // Long enough for a server that ignored the window to send dozens more (one every 5 ms).
    await new Promise((resolve) => setTimeout(resolve, 100));
    const items = () => peer.frames.map((f) => JSON.parse(f as string)).filter((m) => m.type === 'item');
    expect(items().map((m) => m.item)).toEqual([0, 1, 2, 3, 4]);
    peer.send({ type: 'credit', id: 1, items: 3 });
    await until(() => items().length === 8);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(items().map((m) => m.item)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    peer.send({ type: 'cancel', id: 1 });
  });

  test('a slow for-await loop keeps the server within the window, and still gets every item in order', async () => {
    const base = testHandlers();
    let produced = 0;
    harness = await startHarness(
      {
        handlers: {
          ...base,
          logs: {
            ...base.logs,
            async *forever() {
              for (;;) yield produced++;
            },
          },
        },
      },
      {},
      kind,
    );
    const client = harness.client({ streamWindow: 8 });
    const seen: number[] = [];
    for await (const n of client.stream('logs.forever', {})) {
      seen.push(n);
      if (seen.length === 3) {
        // The loop stalls: the server must stop at the window past what was credited, not run ahead.
        await new Promise((resolve) => setTimeout(resolve, 100));
        // 8 sent + the one the generator produced before waiting for credit: nothing consumed was credited yet.
        expect(produced).toBe(9);
      }
      if (seen.length === 40) break;
    }
    expect(produced).toBeLessThanOrEqual(40 + 8 + 1);
    expect(seen).toEqual(Array.from({ length: 40 }, (_, i) => i));
  });

  test('a call without a window is not flow-controlled (older clients keep working)', async () => {
    harness = await startHarness({}, {}, kind);
    const peer = harness.raw();
    await peer.handshake();
    peer.send({ type: 'call', id: 1, command: 'logs.tail', input: { count: 30 } });
    await peer.next((m) => m.type === 'end');
    peer.send({ type: 'call', id: 2, command: 'logs.tail', input: { count: 0 }, window: 0 });
    expect(await peer.next((m) => m.id === 2)).toMatchObject({ type: 'error', code: 'BAD_MESSAGE' });
  });
});
