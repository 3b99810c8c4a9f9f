import { randomUUID } from 'node:crypto';
import { afterAll, expect, test } from 'vitest';
import { z } from 'zod';
import { type BusterHandlers, createBusterServer, threadStream } from '../../../src/adapters/buster/index.js';
import { command, defineProtocol } from '../../../src/protocol/index.js';
import { silentLogger } from '../../../src/server/index.js';
import { BusterPeer, token } from './fixtures.js';

// The example of docs/wire-buster.md ("Serving a protocol over it"), with relative imports,
// port 0 and the memory bus.
const api = defineProtocol({
  name: 'analytics',
  version: '1.0.0',
  resources: {
    sql: {
      commands: {
        run: command({
          input: z.object({ sql: z.string() }),
          output: z.object({ rows: z.array(z.unknown()) }),
        }),
      },
    },
    threads: {
      commands: {
        get: command({ input: z.object({ id: z.string() }), output: z.object({ id: z.string() }) }),
        post: command({
          input: z.object({ id: z.string(), text: z.string() }),
          output: z.object({ posted: z.boolean() }),
        }),
      },
    },
  },
});

const handlers: BusterHandlers<typeof api> = {
  sql: { run: async ({ sql }) => ({ rows: [{ sql }] }) },
  threads: {
    get: async ({ id }, ctx) => {
      await ctx.subscribe(threadStream(id));
      return { id };
    },
    post: async ({ id, text }, ctx) => {
      await ctx.send(threadStream(id), {
        payload: { text },
        sendMethod: 'AllButSender',
        event: 'messagePosted',
      });
      return { posted: true };
    },
  },
};

const secret = 'dev-secret-at-least-32-bytes-long!!';
const server = await createBusterServer({
  protocol: api,
  handlers,
  port: 0,
  host: '127.0.0.1',
  path: '/api/v1/ws',
  auth: { secret },
  logger: silentLogger,
});
const peers: BusterPeer[] = [];
afterAll(async () => {
  for (const peer of peers) peer.close();
  await server.close();
});

test('the docs example answers /threads/get as the page says, and posts to the thread', async () => {
  const open = async (userId: string) => {
    const jwt = await token(userId, {}, { secret });
    const peer = await BusterPeer.open(`${server.url}?authentication=${jwt}`);
    peers.push(peer);
    return peer;
  };
  const [ann, bob] = [randomUUID(), randomUUID()];
  const a = await open(ann);
  const b = await open(bob);
  await Promise.all(server.list().map((c) => c.ready));
  a.send('/threads/get', { id: '42' });
  b.send('/threads/get', { id: '42' });
  const answer = await a.next((m) => m.event === 'getThreads');
  expect(answer.text).toBe(
    `{"route":"/threads/get","event":"getThreads","payload":{"id":"42"},"sent_by":{"id":"${ann}","name":"${ann.slice(0, 8)}@example.com"},"error":null,"send_method":"SenderOnly"}`,
  );
  await b.next((m) => m.event === 'getThreads');
  a.send('/threads/post', { id: '42', text: 'hello' });
  expect((await b.next((m) => m.event === 'messagePosted')).message.payload).toEqual({ text: 'hello' });
  expect((await a.next((m) => m.event === 'postThreads')).message.payload).toEqual({ posted: true });
});
