import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, test } from 'vitest';
import { z } from 'zod';
import {
  type BusterServer,
  createBusterServer,
  MemoryStreamBus,
} from '../../../src/adapters/buster/index.js';
import { command, defineProtocol } from '../../../src/protocol/index.js';
import type { Handlers } from '../../../src/server/index.js';
import { memoryTransport } from '../../../src/transport/memory.js';
import type { Socket } from '../../../src/transport/socket.js';
import { SECRET, token } from './fixtures.js';

const echo = defineProtocol({
  name: 'echo',
  version: '1.0.0',
  resources: {
    echo: { commands: { say: command({ input: z.object({ text: z.string() }), output: z.string() }) } },
  },
});

/** Plain Switchboard handlers, typed as `Handlers<P>`: they run on the Buster server unchanged. */
const handlers: Handlers<typeof echo> = {
  echo: { say: ({ text }, ctx) => `${ctx.principal.id} said ${text}` },
};

function open(socket: Socket) {
  const frames: string[] = [];
  let wake = () => {};
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.listen({
      message: (frame) => {
        frames.push(String(frame));
        wake();
      },
      close: (code, reason) => resolve({ code, reason }),
    }),
  );
  const next = () =>
    new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no frame')), 2000);
      wake = () => {
        clearTimeout(timer);
        resolve(frames.shift() as string);
      };
      if (frames.length) wake();
    });
  return { frames, closed, next };
}

describe('the Buster server on the in-memory transport', () => {
  let server: BusterServer<typeof echo> | undefined;
  afterEach(() => server?.close());

  test('serves Handlers<P> written for createServer, through the memory bus', async () => {
    const userId = randomUUID();
    const transport = memoryTransport();
    server = await createBusterServer({
      protocol: echo,
      handlers,
      auth: { secret: SECRET },
      transport: transport.server,
      bus: new MemoryStreamBus(),
    });
    const socket = transport.connect(`/api/v1/ws?authentication=${await token(userId, { name: 'Ann' })}`);
    const peer = open(socket);
    const connection = await new Promise<NonNullable<ReturnType<NonNullable<typeof server>['list']>[number]>>(
      (resolve) => {
        const poll = () => {
          const found = server?.list()[0];
          if (found) found.ready.then(() => resolve(found));
          else setImmediate(poll);
        };
        poll();
      },
    );
    expect(connection.user).toEqual({ id: userId, name: 'Ann', permissions: [] });
    socket.send('{"route":"/echo/say","payload":{"text":"hi"}}');
    expect(await peer.next()).toBe(
      `{"route":"/echo/say","event":"sayEcho","payload":"${userId} said hi","sent_by":{"id":"${userId}","name":"Ann"},"error":null,"send_method":"SenderOnly"}`,
    );
  });

  test('a bad token closes the memory socket with 1008 and the reason (no HTTP here)', async () => {
    const transport = memoryTransport();
    server = await createBusterServer({
      protocol: echo,
      handlers,
      auth: { secret: SECRET },
      transport: transport.server,
    });
    const peer = open(transport.connect('/api/v1/ws?authentication=nope'));
    expect(await peer.closed).toEqual({ code: 1008, reason: 'Invalid authentication token' });
  });
});
