import { expect, test } from 'vitest';
import { createClient } from '../../src/client/index.js';
import { memoryTransport } from '../../src/transport/memory.js';
import type { Socket } from '../../src/transport/socket.js';
import { testProtocol } from '../support/fixtures.js';
import { until } from '../support/harness.js';

/** A server driven by hand: what a client answers to a `contractRequest` before and after the welcome. */
test('the client answers contractRequest with its contract before the welcome, and ignores it after', async () => {
  const transport = memoryTransport();
  const received: Record<string, any>[] = [];
  let server!: Socket;
  await transport.server.start((socket) => {
    server = socket;
    socket.listen({ message: (frame) => received.push(JSON.parse(String(frame))), close: () => {} });
  });
  const client = createClient({ protocol: testProtocol, url: 'memory://test', connect: transport.connect });
  await until(() => received.length === 1, 2000, 'the hello');
  server.send(JSON.stringify({ type: 'contractRequest' }));
  await until(() => received.length === 2, 2000, 'the contract');
  expect(received.map((message) => message.type)).toEqual(['hello', 'contract']);
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
  server.send(JSON.stringify({ type: 'contractRequest' }));
  server.send(JSON.stringify({ type: 'ping', ts: 1 }));
  // The pong answers the ping sent after the second request: nothing was sent for the request itself.
  await until(() => received.length === 3, 2000, 'the pong');
  expect(received.map((message) => message.type)).toEqual(['hello', 'contract', 'pong']);
  client.close();
  await transport.server.stop();
});
