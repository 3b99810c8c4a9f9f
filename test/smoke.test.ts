import { expect, test } from 'vitest';
import { createClient } from '../src/client/index.js';
import { anonymous, createServer, silentLogger } from '../src/server/index.js';
import { memoryTransport } from '../src/transport/memory.js';
import { testProtocol } from './support/fixtures.js';

test('smoke', async () => {
  const transport = memoryTransport();
  const server = await createServer({
    protocol: testProtocol,
    transport: transport.server,
    auth: anonymous(['*']),
    logger: silentLogger,
    handlers: {
      math: {
        add: ({ a, b }) => ({ sum: a + b }),
        divide: ({ a, b }, ctx) => (b === 0 ? ctx.fail('DIVIDE_BY_ZERO', 'no', { a }) : a / b),
      },
      slow: {
        wait: async () => ({ aborted: false }),
        crash: () => {
          throw new Error('boom');
        },
        lie: () => ({ n: 'x' }) as never,
      },
      logs: {
        async *tail({ count }) {
          for (let i = 0; i < count; i++) yield { line: `l${i}` };
        },
        async *forever() {
          yield 1;
        },
      },
    },
  });
  const client = createClient({ protocol: testProtocol, url: 'memory://x', connect: transport.connect });
  await client.ready();
  expect(await client.call('math.add', { a: 1, b: 2 })).toEqual({ sum: 3 });
  await expect(client.call('math.divide', { a: 1, b: 0 })).rejects.toMatchObject({
    code: 'DIVIDE_BY_ZERO',
    data: { a: 1 },
  });
  await expect(client.call('slow.crash', {})).rejects.toMatchObject({ code: 'INTERNAL' });
  const lines = [];
  for await (const item of client.stream('logs.tail', { count: 3 })) lines.push(item.line);
  expect(lines).toEqual(['l0', 'l1', 'l2']);
  client.close();
  await server.close();
});
