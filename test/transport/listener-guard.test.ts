import { afterEach, expect, test } from 'vitest';
import { WebSocket } from 'ws';
import { memoryTransport } from '../../src/transport/memory.js';
import type { ServerTransport, Socket } from '../../src/transport/socket.js';
import { wsServerTransport } from '../../src/transport/ws-server.js';

let stop: (() => Promise<void>) | undefined;
afterEach(async () => {
  await stop?.();
  stop = undefined;
});

/** Accepts connections whose message listener throws on "boom" and echoes anything else. */
function throwingListener(socket: Socket): void {
  socket.listen({
    message(frame) {
      if (frame === 'boom') throw new Error('listener bug');
      socket.send(frame);
    },
    close() {},
  });
}

async function start(transport: ServerTransport) {
  await transport.start(throwingListener);
  stop = () => transport.stop();
}

test('ws transport: a message listener that throws closes that socket with 1011; others are served', async () => {
  const transport = wsServerTransport({ port: 0, host: '127.0.0.1', maxPayload: 1024 });
  await start(transport);
  const open = async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${transport.port()}`);
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    return ws;
  };
  const witness = await open();
  const victim = await open();
  const closed = new Promise((resolve) =>
    victim.once('close', (code, reason) => resolve([code, String(reason)])),
  );
  victim.send('boom');
  expect(await closed).toEqual([1011, 'internal error']);
  const echoed = new Promise((resolve) => witness.once('message', (data) => resolve(String(data))));
  witness.send('still here');
  expect(await echoed).toBe('still here');
  witness.close();
});

test('memory transport: a message listener that throws closes that socket with 1011; others are served', async () => {
  const transport = memoryTransport();
  await start(transport.server);
  const peer = (socket: Socket) => {
    const frames: unknown[] = [];
    const closed = new Promise((resolve) =>
      socket.listen({
        message: (frame) => frames.push(frame),
        close: (code, reason) => resolve([code, reason]),
      }),
    );
    return { frames, closed };
  };
  const witnessSocket = transport.connect('/');
  const witness = peer(witnessSocket);
  const victimSocket = transport.connect('/');
  const victim = peer(victimSocket);
  victimSocket.send('boom');
  expect(await victim.closed).toEqual([1011, 'internal error']);
  witnessSocket.send('still here');
  await expect.poll(() => witness.frames).toEqual(['still here']);
});
