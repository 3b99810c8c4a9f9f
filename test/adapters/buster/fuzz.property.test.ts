import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { createBusterServer } from '../../../src/adapters/buster/index.js';
import { memoryTransport } from '../../../src/transport/memory.js';
import { busterHandlers, busterProtocol, SECRET, token } from './fixtures.js';

const quiet = { error: () => {}, warn: () => {}, info: () => {} };

describe('a Buster connection under arbitrary frames', () => {
  test('never crashes, never answers garbage, and still answers a valid route afterwards', async () => {
    const transport = memoryTransport();
    const server = await createBusterServer({
      protocol: busterProtocol,
      handlers: busterHandlers,
      auth: { secret: SECRET },
      transport: transport.server,
      logger: quiet,
    });
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.array(
            fc.oneof(
              fc.string(),
              fc.json(),
              fc.uint8Array({ maxLength: 64 }),
              fc
                .record({
                  route: fc.oneof(fc.string(), fc.constantFrom('/sql/run', '/threads/get', '/admin/nothing')),
                  payload: fc.jsonValue(),
                })
                .map((r) => JSON.stringify(r)),
            ),
            { maxLength: 20 },
          ),
          async (frames) => {
            const userId = randomUUID();
            const socket = transport.connect(`/?authentication=${await token(userId)}`);
            const received: string[] = [];
            let wake = () => {};
            socket.listen({
              message: (frame) => {
                received.push(String(frame));
                wake();
              },
              close: () => {},
            });
            for (const frame of frames) socket.send(frame);
            socket.send('{"route":"/sql/run","payload":{"sql":"marker"}}');
            await new Promise<void>((resolve, reject) => {
              const timer = setTimeout(
                () => reject(new Error(`no marker; got ${JSON.stringify(received)}`)),
                3000,
              );
              wake = () => {
                if (received.some((text) => text.includes('"n":6'))) {
                  clearTimeout(timer);
                  resolve();
                }
              };
              wake();
            });
            // Whatever came back is a well-formed response from this user's stream.
            for (const text of received) {
              const message = JSON.parse(text);
              expect(Object.keys(message)).toEqual([
                'route',
                'event',
                'payload',
                'sent_by',
                'error',
                'send_method',
              ]);
              expect(message.sent_by.id).toBe(userId);
            }
            socket.close(1000);
          },
        ),
        { numRuns: 60 },
      );
    } finally {
      await server.close();
    }
  });
});
