/**
 * A hostile goval peer on a real socket, beside a well-behaved one: deep, garbage, truncated and text
 * frames cost the hostile connection its frame (or, for a text frame, itself), and the witness keeps
 * getting exact answers.
 */
import replit from '@replit/protocol';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { WebSocket } from 'ws';
import { defineProtocol } from '../../src/protocol/index.js';
import { createServer, type Server, silentLogger } from '../../src/server/index.js';
import { chat, chatService } from '../../src/services/chat/index.js';
import { govalTokenAuth, govalWire } from '../../src/wire/goval/index.js';
import { nestedCommands, nestedGroups } from '../wire/goval/deep-frames.js';

const { api } = replit;
type Command = ReturnType<typeof api.Command.decode>;

const protocol = defineProtocol({
  name: 'goval-hostile',
  version: '1.0.0',
  resources: {},
  services: { chat: chatService },
});

let server: Server<typeof protocol>;
beforeAll(async () => {
  server = await createServer({
    protocol,
    handlers: {},
    services: { chat: chat() },
    wire: govalWire(),
    auth: govalTokenAuth((token) => (token === 'ok' ? { id: token, permissions: ['*'] } : undefined)),
    port: 0,
    host: '127.0.0.1',
    logger: silentLogger,
  });
});
afterAll(() => server.close({ graceMs: 0 }));

/** A raw goval peer: every frame it gets, decoded by @replit/protocol, awaited with a timeout. */
async function peer() {
  const socket = new WebSocket(`ws://127.0.0.1:${server.port}/wsv2/ok`);
  socket.binaryType = 'arraybuffer';
  const inbox: Command[] = [];
  const waiting: (() => void)[] = [];
  socket.on('message', (data: ArrayBuffer) => {
    inbox.push(api.Command.decode(new Uint8Array(data)));
    for (const wake of waiting.splice(0)) wake();
  });
  const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
  const next = async (): Promise<Command> => {
    const deadline = Date.now() + 3000;
    while (inbox.length === 0) {
      if (Date.now() > deadline) throw new Error('no frame within 3000 ms');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, deadline - Date.now());
        waiting.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return inbox.shift()!;
  };
  expect(api.Command.toObject(await next())).toEqual({ containerState: { state: 1 } });
  return { socket, next, closed, send: (bytes: Uint8Array | string) => socket.send(bytes) };
}

describe('a hostile goval peer costs its own frames only', () => {
  test.each([
    [
      'Commands nested 20,000 deep',
      nestedCommands(20_000),
      /^not a goval Command: .*maximum recursion depth of 64 reached$/,
    ],
    [
      'unknown groups nested 100,000 deep',
      nestedGroups(100_000),
      /^not a goval Command: maximum recursion depth reached$/,
    ],
    ['garbage', Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x0f), /^not a goval Command: /],
    [
      'a truncated frame',
      api.Command.encode(api.Command.create({ ref: 'r', openChan: { service: 'chat', name: 'x' } }))
        .finish()
        .subarray(0, 6),
      /^not a goval Command: /,
    ],
  ])('%s: an error body on channel 0; the witness is answered exactly', async (_name, frame, message) => {
    const witness = await peer();
    const hostile = await peer();
    hostile.send(frame);
    const answer = api.Command.toObject(await hostile.next()) as { error?: string };
    expect(Object.keys(answer)).toEqual(['error']);
    expect(answer.error).toMatch(message);
    for (const ref of ['w1', 'w2']) {
      witness.send(api.Command.encode(api.Command.create({ ref, ping: {} })).finish());
      expect(api.Command.toObject(await witness.next())).toEqual({ ref, pong: {} });
    }
    // The hostile connection is still served too.
    hostile.send(api.Command.encode(api.Command.create({ ref: 'h', ping: {} })).finish());
    expect(api.Command.toObject(await hostile.next())).toEqual({ ref: 'h', pong: {} });
    witness.socket.close();
    hostile.socket.close();
  });

  test('a text frame closes that connection with 1003; the witness is answered', async () => {
    const witness = await peer();
    const hostile = await peer();
    hostile.send('{"not":"protobuf"}');
    expect(await hostile.closed).toBe(1003);
    witness.send(api.Command.encode(api.Command.create({ ref: 'w', ping: {} })).finish());
    expect(api.Command.toObject(await witness.next())).toEqual({ ref: 'w', pong: {} });
    witness.socket.close();
  });
});
