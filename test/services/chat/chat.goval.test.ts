import { afterEach, describe, expect, test } from 'vitest';
import { WebSocket } from 'ws';
import { defineProtocol } from '../../../src/protocol/index.js';
import type { Principal } from '../../../src/server/auth/authenticator.js';
import { createServer, type Server, silentLogger } from '../../../src/server/index.js';
import { chat, chatService } from '../../../src/services/chat/index.js';
import { govalTokenAuth, govalWire } from '../../../src/wire/goval/index.js';
import { api, type TheirCommand } from '../../wire/goval/interop.js';

/**
 * The chat service as a goval client sees it: @replit/protocol's own bindings (an implementation not
 * ours) on a real socket, the token in the URL path, READY, openChan, then chat bodies.
 */

const protocol = defineProtocol({
  name: 'chat-goval',
  version: '1.0.0',
  resources: {},
  services: { chat: chatService },
});
const people: Record<string, Principal> = {
  'token-ada': { id: 'ada', permissions: ['*'], attributes: { name: 'Ada', userId: 1 } },
  'token-bob': { id: 'bob', permissions: ['*'], attributes: { name: 'Bob', userId: 2, roles: ['mod'] } },
};

let server: Server<typeof protocol> | undefined;
const peers: GovalPeer[] = [];
afterEach(async () => {
  for (const peer of peers.splice(0)) peer.socket.close();
  await server?.close({ graceMs: 10 });
  server = undefined;
});

/** A goval client by hand: sends Commands, keeps every Command it receives as @replit/protocol reads it. */
class GovalPeer {
  readonly received: Record<string, any>[] = [];
  private waiters: (() => void)[] = [];
  readonly socket: WebSocket;

  constructor(url: string) {
    this.socket = new WebSocket(url);
    this.socket.binaryType = 'nodebuffer';
    this.socket.on('message', (data: Buffer) => {
      this.received.push(api.Command.toObject(api.Command.decode(new Uint8Array(data)), { longs: Number }));
      for (const waiter of this.waiters.splice(0)) waiter();
    });
  }

  send(command: TheirCommand): void {
    this.socket.send(api.Command.encode(api.Command.create(command)).finish());
  }

  /** Takes the first received Command matching `predicate` (others stay), waiting for it if need be. */
  async take(
    predicate: (command: Record<string, any>) => boolean,
    what: string,
  ): Promise<Record<string, any>> {
    const deadline = Date.now() + 2000;
    for (;;) {
      const at = this.received.findIndex(predicate);
      if (at >= 0) return this.received.splice(at, 1)[0] as Record<string, any>;
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`no ${what} within 2000 ms; got ${JSON.stringify(this.received)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** The next Command on `channel`, in order (commands on other channels are left). */
  next(channel: number, what = `a command on channel ${channel}`): Promise<Record<string, any>> {
    return this.take((command) => (command.channel ?? 0) === channel, what);
  }
}

async function connect(token: string): Promise<GovalPeer> {
  const peer = new GovalPeer(`ws://127.0.0.1:${server?.port}/wsv2/${token}`);
  peers.push(peer);
  expect(await peer.next(0, 'READY')).toEqual({ containerState: { state: 1 } });
  return peer;
}

describe('chat over the goval wire, with @replit/protocol on a real socket', () => {
  test('two goval clients in one room: scrollback, roster, join, typing, messages and part', async () => {
    server = await createServer({
      protocol,
      handlers: {},
      services: { chat: chat({ scrollback: 2 }) },
      wire: govalWire(),
      auth: govalTokenAuth((token) => people[token]),
      port: 0,
      host: '127.0.0.1',
      logger: silentLogger,
    });

    const ada = await connect('token-ada');
    ada.send({ channel: 0, ref: 'open-a', openChan: { service: 'chat', name: 'general', action: 2 } });
    // openChanRes: id 1, state CREATED (0, so protobuf leaves it out), the new session's id.
    expect(await ada.next(0, 'openChanRes')).toEqual({ ref: 'open-a', session: 2, openChanRes: { id: 1 } });
    expect(await ada.next(1)).toEqual({ channel: 1, session: 2, chatScrollback: {} });
    expect(await ada.next(1)).toEqual({
      channel: 1,
      session: 2,
      roster: { user: [{ id: 1, name: 'Ada', session: 2 }] },
    });
    for (const text of ['one', 'two', 'three']) {
      // The username a client puts in is not taken: the server names the sender.
      ada.send({ channel: 1, ref: `say-${text}`, chatMessage: { username: 'mallory', text } });
      expect(await ada.next(1)).toEqual({ channel: 1, ref: `say-${text}`, ok: {} });
    }

    const bob = await connect('token-bob');
    bob.send({ channel: 0, ref: 'open-b', openChan: { service: 'chat', name: 'general', action: 2 } });
    expect(await bob.next(0, 'openChanRes')).toEqual({
      ref: 'open-b',
      session: 3,
      openChanRes: { id: 1, state: 1 },
    });
    expect(await bob.next(1)).toEqual({
      channel: 1,
      session: 3,
      chatScrollback: {
        scrollback: [
          { username: 'Ada', text: 'two' },
          { username: 'Ada', text: 'three' },
        ],
      },
    });
    const adaUser = { id: 1, name: 'Ada', session: 2 };
    const bobUser = { id: 2, name: 'Bob', roles: ['mod'], session: 3 };
    expect(await bob.next(1)).toEqual({ channel: 1, session: 3, roster: { user: [adaUser, bobUser] } });
    expect(await ada.next(1)).toEqual({ channel: 1, session: -3, join: bobUser });

    bob.send({ channel: 1, ref: 'type', chatTyping: { typing: true } });
    expect(await bob.next(1)).toEqual({ channel: 1, ref: 'type', ok: {} });
    bob.send({ channel: 1, ref: 'hi', chatMessage: { text: 'hi Ada' } });
    expect(await bob.next(1)).toEqual({ channel: 1, ref: 'hi', ok: {} });
    bob.send({ channel: 1, ref: 'history', chatScrollback: {} });
    expect(await bob.next(1)).toEqual({
      channel: 1,
      ref: 'history',
      chatScrollback: {
        scrollback: [
          { username: 'Ada', text: 'three' },
          { username: 'Bob', text: 'hi Ada' },
        ],
      },
    });
    bob.send({ channel: 0, ref: 'bye', closeChan: { id: 1, action: 1 } });
    // TRY_CLOSE with Ada still there only disconnects Bob: status DISCONNECT (0, left out).
    expect(await bob.next(0, 'closeChanRes')).toEqual({ ref: 'bye', closeChanRes: { id: 1 } });

    expect(await ada.next(1)).toEqual({
      channel: 1,
      session: -3,
      chatTyping: { username: 'Bob', typing: true },
    });
    expect(await ada.next(1)).toEqual({
      channel: 1,
      session: -3,
      chatMessage: { username: 'Bob', text: 'hi Ada' },
    });
    expect(await ada.next(1)).toEqual({ channel: 1, session: -3, chatTyping: { username: 'Bob' } });
    expect(await ada.next(1)).toEqual({ channel: 1, session: -3, part: bobUser });
    expect([ada.received, bob.received]).toEqual([[], []]);
  });
});
