import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  MemoryStreamBus,
  readWsMessage,
  sendWsMessage,
  shouldDeliver,
  subscribeToStream,
  threadStream,
  userGroupName,
} from '../../../src/adapters/buster/index.js';
import { WS_SEND_METHODS, type WsSendMethod } from '../../../src/wire/buster/index.js';

const users = ['ann', 'bob', 'cid'];

describe('delivery through a thread stream', () => {
  test('each reader gets exactly the messages its filter lets through, in the order written', async () => {
    await fc.assert(
      fc.asyncProperty(
        // Readers: users may hold several connections; messages: at most 50, so none is trimmed unread.
        fc.array(fc.constantFrom(...users), { minLength: 1, maxLength: 5 }),
        fc.array(
          fc.record({
            sender: fc.option(fc.constantFrom(...users), { nil: null }),
            method: fc.constantFrom(...WS_SEND_METHODS),
          }),
          { maxLength: 50 },
        ),
        async (readers, messages) => {
          const bus = new MemoryStreamBus();
          const stream = threadStream(randomUUID());
          const connections = await Promise.all(
            readers.map(async (userId) => {
              const group = userGroupName(userId, randomUUID());
              await subscribeToStream(bus, new Set(), stream, group, userId);
              return { userId, group, reader: bus.reader() };
            }),
          );
          for (const [i, { sender, method }] of messages.entries()) {
            await sendWsMessage(bus, stream, {
              route: '/threads/post',
              event: 'messagePosted',
              payload: i,
              sent_by: sender === null ? null : { id: sender, name: sender },
              error: null,
              send_method: method as WsSendMethod,
            });
          }
          for (const { userId, group, reader } of connections) {
            const got: unknown[] = [];
            for (const entry of await reader.read(group, 'c', [stream], 250, 1)) {
              const message = await readWsMessage(entry.fields);
              if (message && shouldDeliver(message, userId)) got.push(message.payload);
            }
            reader.close();
            const expected = messages.flatMap(({ sender, method }, i) =>
              sender === null || method === 'All' || (method === 'SenderOnly') === (sender === userId)
                ? [i]
                : [],
            );
            expect(got).toEqual(expected);
          }
        },
      ),
      { numRuns: 100 },
    );
  });
});
