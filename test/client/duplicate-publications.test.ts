import { expect, test } from 'vitest';
import { createClient } from '../../src/client/index.js';
import { memoryTransport } from '../../src/transport/memory.js';
import type { Socket } from '../../src/transport/socket.js';
import { testProtocol } from '../support/fixtures.js';
import { until } from '../support/harness.js';

// Kills "the client's duplicate filter removed": the real server never repeats a publication, so
// only a server driven by hand shows what the client itself promises (each publication once).
test('a server that repeats or replays older publications still gets each one to the listener once, in order', async () => {
  const transport = memoryTransport();
  const received: Record<string, any>[] = [];
  let server!: Socket;
  await transport.server.start((socket) => {
    server = socket;
    socket.listen({ message: (frame) => received.push(JSON.parse(String(frame))), close: () => {} });
  });
  const client = createClient({ protocol: testProtocol, url: 'memory://test', connect: transport.connect });
  await until(() => received.length === 1, 2000, 'the hello');
  server.send(
    JSON.stringify({
      type: 'welcome',
      connectionId: 'c1',
      protocol: 'test',
      version: '1.2.0',
      principal: { id: 'u', permissions: [] },
      heartbeatMs: 60_000,
      limits: { maxMessageBytes: 1 << 20, maxInFlight: 8, ratePerSecond: 1000 },
    }),
  );
  await client.ready();
  const got: [number, number][] = [];
  const sub = client.subscribe('ticks.prices', { symbol: 'D' }, (price, position) =>
    got.push([position.offset, price]),
  );
  await until(() => received.length === 2, 2000, 'the subscribe');
  const subscribe = received[1]!;
  expect([subscribe.type, subscribe.topic, subscribe.params]).toEqual([
    'subscribe',
    'ticks.prices',
    { symbol: 'D' },
  ]);
  const key = 'ticks.D.price';
  server.send(JSON.stringify({ type: 'subscribed', id: subscribe.id, key, epoch: 'e1', offset: 0 }));
  await sub.ready;
  const publish = (offset: number) =>
    server.send(JSON.stringify({ type: 'publication', key, epoch: 'e1', offset, payload: offset * 10 }));
  // 2 twice, then 1 and 2 again (an overlapping replay), then 3; 4 is the barrier.
  for (const offset of [1, 2, 2, 1, 2, 3, 4]) publish(offset);
  await until(() => got.some(([offset]) => offset === 4), 2000, 'publication 4');
  expect(got).toEqual([
    [1, 10],
    [2, 20],
    [3, 30],
    [4, 40],
  ]);
  client.close();
  await transport.server.stop();
});
