import { z } from 'zod';
import { command, defineProtocol, error, event, stream, topic } from '../../src/protocol/index.js';
import { CollectionStore, collectionTopic } from '../../src/services/collection.js';

/** The server-side items of the `keys.sync` collection topic. */
export const keyStore = new CollectionStore<{ role: string }>();

/** A small protocol exercising every kind of member, used across the tests. */
export const testProtocol = defineProtocol({
  name: 'test',
  version: '1.2.0',
  resources: {
    math: {
      commands: {
        add: command({
          input: z.object({ a: z.number(), b: z.number() }),
          output: z.object({ sum: z.number() }),
        }),
        divide: command({
          input: z.object({ a: z.number(), b: z.number() }),
          output: z.number(),
          permission: 'math:divide',
        }),
      },
    },
    slow: {
      commands: {
        wait: command({
          input: z.object({ ms: z.number().int().min(0) }),
          output: z.object({ aborted: z.boolean() }),
          timeoutMs: 200,
        }),
        crash: command({ input: z.object({}), output: z.null() }),
        lie: command({ input: z.object({}), output: z.object({ n: z.number() }) }),
      },
    },
    logs: {
      commands: {
        tail: stream({
          input: z.object({ count: z.number().int().min(0) }),
          item: z.object({ line: z.string() }),
        }),
        forever: stream({ input: z.object({}), item: z.number() }),
      },
      events: {
        appended: event(z.object({ line: z.string() })),
      },
    },
    rooms: {
      topics: {
        messages: topic({
          pattern: 'rooms.{roomId}',
          payload: z.object({ text: z.string() }),
          // Anyone may follow a room, except "vault", which needs the vault permission.
          subscribe: (params, who) => params.roomId !== 'vault' || who.permissions.includes('rooms:vault'),
          publish: 'rooms:post',
          presence: true,
        }),
      },
    },
    keys: {
      topics: {
        sync: collectionTopic({
          pattern: 'keys.{team}',
          value: z.object({ role: z.string() }),
          store: keyStore,
        }),
      },
    },
    ticks: {
      topics: {
        prices: topic({ pattern: 'ticks.{symbol}.price', payload: z.number() }),
      },
    },
  },
  errors: {
    DIVIDE_BY_ZERO: error('Cannot divide by zero', z.object({ a: z.number() })),
  },
});
