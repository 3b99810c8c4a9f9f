import { afterEach, describe, expect, test } from 'vitest';
import { type Channel, type Client, createClient } from '../../../src/client/index.js';
import { CallError } from '../../../src/protocol/errors.js';
import { defineProtocol } from '../../../src/protocol/index.js';
import { createServer, type Server, silentLogger } from '../../../src/server/index.js';
import { type ChatService, chat, chatService } from '../../../src/services/chat/index.js';
import { type MemoryTransport, memoryTransport } from '../../../src/transport/memory.js';
import { RawPeer, until } from '../../support/harness.js';

const api = defineProtocol({
  name: 'chat-e2e',
  version: '1.0.0',
  resources: {},
  services: { chat: chatService },
});
const EVENTS = ['message', 'typing', 'scrollback', 'roster', 'join', 'part'] as const;

let server: Server<typeof api> | undefined;
let transport: MemoryTransport;
const clients: Client<typeof api>[] = [];
const raws: RawPeer[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  for (const raw of raws.splice(0)) raw.socket.close(1000);
  await server?.close({ graceMs: 10 });
  server = undefined;
});

async function start() {
  transport = memoryTransport();
  server = await createServer({
    protocol: api,
    handlers: {},
    services: { chat: chat({ scrollback: 2, maxMessageLength: 10 }) },
    transport: transport.server,
    // The hello's credentials name the person; goval's numeric user id rides in the attributes.
    auth: {
      authenticate: ({ credentials }) => {
        const { name, userId } = credentials as { name: string; userId: number };
        return {
          ok: true,
          principal: { id: name.toLowerCase(), permissions: ['*'], attributes: { name, userId } },
        };
      },
    },
    logger: silentLogger,
  });
}

/** A person in room `general`: their client, their channel, and every event it heard, in order. */
async function enter(name: string, userId: number) {
  const client = createClient({
    protocol: api,
    url: 'memory://chat',
    connect: transport.connect,
    credentials: { name, userId },
  });
  clients.push(client);
  const channel: Channel<ChatService> = await client.openChannel('chat', {
    name: 'general',
    action: 'attachOrCreate',
  });
  const heard: [string, unknown][] = [];
  for (const event of EVENTS) channel.on(event, (payload) => heard.push([event, payload]));
  return { client, channel, heard };
}

/** A hand-driven connection speaking the JSON wire, to see every frame the server sends on attach. */
async function rawEnter(name: string, userId: number): Promise<RawPeer> {
  const peer = new RawPeer(transport.connect('/'));
  raws.push(peer);
  peer.send({
    type: 'hello',
    wire: 1,
    protocol: 'chat-e2e',
    version: '1.0.0',
    credentials: { name, userId },
  });
  await peer.next((message) => message.type === 'welcome');
  peer.send({ type: 'open', id: 1, service: 'chat', name: 'general', action: 'attachOrCreate' });
  return peer;
}

/**
 * The first three frames after an open: the `opened` reply, then the two attach events. As goval's
 * openChanRes, `opened` comes before any traffic on the channel.
 */
async function attachFrames(peer: RawPeer) {
  await until(() => peer.frames.length >= 3, 2000, 'opened, scrollback and roster');
  const frames = peer.frames.splice(0, 3).map((frame) => JSON.parse(frame as string));
  return { opened: frames[0], events: frames.slice(1) };
}

const user = (name: string, id: number, session: number) => ({ id, name, roles: [], session });

describe('chat over the in-memory transport', () => {
  test('three people in a room: join, typing, messages, a refusal and part, exactly and in order per client', async () => {
    await start();
    const ada = await enter('Ada', 1);
    const bob = await enter('Bob', 2);
    await until(() => ada.heard.length === 3, 2000, 'Ada hears Bob join');
    const cy = await enter('Cy', 3);
    await until(() => bob.heard.length === 3, 2000, 'Bob hears Cy join');

    expect(await bob.channel.call('typing', { typing: true })).toBe(null);
    expect(await bob.channel.call('send', { text: 'hi' })).toBe(null);
    const tooLong = await cy.channel.call('send', { text: 'eleven char' }).catch((error: unknown) => error);
    expect(tooLong).toBeInstanceOf(CallError);
    expect([(tooLong as CallError).code, (tooLong as CallError).data]).toEqual([
      'CHAT_MESSAGE_TOO_LONG',
      { length: 11, max: 10 },
    ]);
    expect(await bob.channel.close('disconnect')).toBe('disconnect');
    await until(() => cy.heard.length === 6, 2000, 'Cy hears Bob leave');
    cy.client.close(); // a closed connection detaches its sessions as a close would
    await until(() => ada.heard.length === 9, 2000, 'Ada hears Cy leave');

    // Each newcomer first gets the scrollback and the roster, on its own channel, then the room's traffic.
    expect(ada.heard).toEqual([
      ['scrollback', { messages: [] }],
      ['roster', { users: [user('Ada', 1, 2)] }],
      ['join', user('Bob', 2, 3)],
      ['join', user('Cy', 3, 4)],
      ['typing', { username: 'Bob', typing: true }],
      ['message', { username: 'Bob', text: 'hi' }],
      ['typing', { username: 'Bob', typing: false }],
      ['part', user('Bob', 2, 3)],
      ['part', user('Cy', 3, 4)],
    ]);
    expect(bob.heard).toEqual([
      ['scrollback', { messages: [] }],
      ['roster', { users: [user('Ada', 1, 2), user('Bob', 2, 3)] }],
      ['join', user('Cy', 3, 4)],
    ]);
    expect(cy.heard).toEqual([
      ['scrollback', { messages: [] }],
      ['roster', { users: [user('Ada', 1, 2), user('Bob', 2, 3), user('Cy', 3, 4)] }],
      ['typing', { username: 'Bob', typing: true }],
      ['message', { username: 'Bob', text: 'hi' }],
      ['typing', { username: 'Bob', typing: false }],
      ['part', user('Bob', 2, 3)],
    ]);
    expect(await ada.channel.call('scrollback', {})).toEqual({ messages: [{ username: 'Bob', text: 'hi' }] });
  });

  test('on the wire, a newcomer gets scrollback, then roster, on its channel, and the others get join', async () => {
    await start();
    const ada = await rawEnter('Ada', 1);
    expect(await attachFrames(ada)).toEqual({
      opened: { type: 'opened', id: 1, channel: 1, session: 2, state: 'created' },
      events: [
        { type: 'event', event: 'chat.scrollback', payload: { messages: [] }, channel: 1 },
        { type: 'event', event: 'chat.roster', payload: { users: [user('Ada', 1, 2)] }, channel: 1 },
      ],
    });
    for (const [id, text] of [
      [2, 'one'],
      [3, 'two'],
      [4, 'three'],
    ] as const) {
      ada.send({ type: 'call', id, command: 'send', input: { text }, channel: 1 });
      expect(await ada.next()).toEqual({ type: 'result', id, output: null });
    }

    const bob = await rawEnter('Bob', 2);
    const lastTwo = [
      { username: 'Ada', text: 'two' },
      { username: 'Ada', text: 'three' },
    ];
    expect(await attachFrames(bob)).toEqual({
      opened: { type: 'opened', id: 1, channel: 1, session: 3, state: 'attached' },
      events: [
        { type: 'event', event: 'chat.scrollback', payload: { messages: lastTwo }, channel: 1 },
        {
          type: 'event',
          event: 'chat.roster',
          payload: { users: [user('Ada', 1, 2), user('Bob', 2, 3)] },
          channel: 1,
        },
      ],
    });
    expect(await ada.next()).toEqual({
      type: 'event',
      event: 'chat.join',
      payload: user('Bob', 2, 3),
      channel: 1,
    });
  });

  test('two rooms on one connection are separate: messages and scrollback stay in their room', async () => {
    await start();
    const ada = await enter('Ada', 1);
    const bob = await enter('Bob', 2);
    const adaRandom = await ada.client.openChannel('chat', { name: 'random' });
    const bobRandom = await bob.client.openChannel('chat', { name: 'random' });
    const inRandom: unknown[] = [];
    bobRandom.on('message', (message) => inRandom.push(message));
    expect([adaRandom.number, adaRandom.session, bobRandom.number, bobRandom.session]).toEqual([2, 2, 2, 3]);
    await adaRandom.call('send', { text: 'off topic' });
    await ada.channel.call('send', { text: 'on topic' });
    await until(() => inRandom.length === 1 && bob.heard.length === 3, 2000, 'both messages');
    expect(inRandom).toEqual([{ username: 'Ada', text: 'off topic' }]);
    expect(bob.heard.slice(2)).toEqual([['message', { username: 'Ada', text: 'on topic' }]]);
    expect(await bobRandom.call('scrollback', {})).toEqual({
      messages: [{ username: 'Ada', text: 'off topic' }],
    });
    expect(await bob.channel.call('scrollback', {})).toEqual({
      messages: [{ username: 'Ada', text: 'on topic' }],
    });
  });

  test('a room ends with its last session: the name reopens as a new room with an empty scrollback', async () => {
    await start();
    const ada = await enter('Ada', 1);
    await ada.channel.call('send', { text: 'remember' });
    expect(await ada.channel.close('tryClose')).toBe('close');
    const bob = await enter('Bob', 2);
    expect([bob.channel.state, bob.channel.session]).toEqual(['created', 2]);
    expect(await bob.channel.call('scrollback', {})).toEqual({ messages: [] });
  });
});
