import { afterEach, describe, expect, test } from 'vitest';
import { z } from 'zod';
import { type Client, createClient } from '../../src/client/index.js';
import { command, defineProtocol, event, service, stream } from '../../src/protocol/index.js';
import {
  anonymous,
  createServer,
  type Server,
  type ServiceImplementation,
  silentLogger,
} from '../../src/server/index.js';
import { type MemoryTransport, memoryTransport } from '../../src/transport/memory.js';
import { RawPeer, until } from '../support/harness.js';

const counterService = service({
  commands: {
    add: command({ input: z.object({ by: z.number().int() }), output: z.number() }),
    tell: command({
      input: z.object({ text: z.string(), to: z.enum(['all', 'others', 'me']) }),
      output: z.null(),
    }),
    count: stream({ input: z.object({ upTo: z.number().int() }), item: z.number() }),
    wait: command({ input: z.object({}), output: z.null() }),
  },
  events: { said: event(z.object({ text: z.string(), from: z.number() })) },
});

const api = defineProtocol({
  name: 'channels-test',
  version: '1.0.0',
  resources: { misc: { commands: { ping: command({ input: z.object({}), output: z.literal('pong') }) } } },
  services: { counter: counterService },
});

const log: string[] = [];
const counter: ServiceImplementation<typeof counterService, { total: number }> = {
  create: (instance) => {
    log.push(`create ${instance.name}`);
    return { total: 0 };
  },
  handlers: {
    add: ({ by }, ctx) => (ctx.state.total += by),
    tell: ({ text, to }, ctx) => {
      const target =
        to === 'all' ? 'all' : to === 'others' ? { except: ctx.session.id } : { only: ctx.session.id };
      ctx.instance.emit('said', { text, from: ctx.session.id }, target);
      return null;
    },
    async *count({ upTo }) {
      for (let n = 1; n <= upTo; n++) yield n;
    },
    wait: (_input, ctx) =>
      new Promise((resolve) => ctx.signal.addEventListener('abort', () => resolve(null))),
  },
  attached: ({ instance, session }) => {
    log.push(`attach ${instance.name} ${session.id}`);
  },
  detached: ({ instance, session }) => {
    log.push(`detach ${instance.name} ${session.id}`);
  },
  dispose: (state, instance) => {
    log.push(`dispose ${instance.name} at ${state.total}`);
  },
};

let server: Server<typeof api>;
let transport: MemoryTransport;
const clients: Client<typeof api>[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await server?.close({ graceMs: 10 });
  log.length = 0;
});

async function start() {
  transport = memoryTransport();
  server = await createServer({
    protocol: api,
    handlers: { misc: { ping: () => 'pong' as const } },
    services: { counter },
    transport: transport.server,
    auth: anonymous(['*']),
    logger: silentLogger,
  });
}

function client() {
  const made = createClient({
    protocol: api,
    url: 'memory://x',
    connect: transport.connect,
    reconnect: { initialDelayMs: 1 },
  });
  clients.push(made);
  return made;
}

describe('channels', () => {
  test('channels on one name share an instance; each attachment is its own session', async () => {
    await start();
    const [a, b] = [client(), client()];
    const one = await a.openChannel('counter', { name: 'c1' });
    const two = await b.openChannel('counter', { name: 'c1' });
    expect([one.state, two.state]).toEqual(['created', 'attached']);
    expect([one.number, one.session, two.number, two.session]).toEqual([1, 2, 1, 3]);
    expect(await one.call('add', { by: 5 })).toBe(5);
    expect(await two.call('add', { by: 2 })).toBe(7);
    const other = await a.openChannel('counter', { name: 'c2' });
    expect([other.number, await other.call('add', { by: 1 })]).toEqual([2, 1]);
    expect(await a.call('misc.ping', {})).toBe('pong');
    expect(log).toEqual(['create c1', 'attach c1 2', 'attach c1 3', 'create c2', 'attach c2 2']);
  });

  test('create, attach and unknown services are refused with typed errors', async () => {
    await start();
    const a = client();
    await a.openChannel('counter', { name: 'taken' });
    const exists = await a.openChannel('counter', { name: 'taken', action: 'create' }).catch((e) => e);
    expect([exists.code, exists.message]).toEqual([
      'CHANNEL_EXISTS',
      'a counter channel named "taken" is already open',
    ]);
    const missing = await a.openChannel('counter', { name: 'nope', action: 'attach' }).catch((e) => e);
    expect([missing.code, missing.message]).toEqual([
      'CHANNEL_NOT_FOUND',
      'no counter channel named "nope" is open',
    ]);
    const unknown = await a.openChannel('nothing' as never).catch((e) => e);
    expect(unknown.code).toBe('UNKNOWN_SERVICE');
  });

  test("events go to all sessions, all but the sender, or one, as goval's session field says", async () => {
    await start();
    const [a, b, c] = [client(), client(), client()];
    const channels = [
      await a.openChannel('counter', { name: 'room' }),
      await b.openChannel('counter', { name: 'room' }),
      await c.openChannel('counter', { name: 'room' }),
    ];
    const heard = channels.map(() => [] as string[]);
    for (const [i, channel] of channels.entries()) {
      channel.on('said', ({ text, from }) => heard[i]!.push(`${text}@${from}`));
    }
    await channels[0]!.call('tell', { text: 'everyone', to: 'all' });
    await channels[1]!.call('tell', { text: 'not-me', to: 'others' });
    await channels[2]!.call('tell', { text: 'only-me', to: 'me' });
    await until(() => heard.flat().length === 6);
    expect(heard).toEqual([
      ['everyone@2', 'not-me@3'],
      ['everyone@2'],
      ['everyone@2', 'not-me@3', 'only-me@4'],
    ]);
  });

  test("close: disconnect leaves, tryClose closes only when alone, close ends everyone's channel", async () => {
    await start();
    const [a, b] = [client(), client()];
    const one = await a.openChannel('counter', { name: 'k' });
    const two = await b.openChannel('counter', { name: 'k' });
    expect(await one.close('tryClose')).toBe('disconnect');
    expect(await two.call('add', { by: 1 })).toBe(1);
    const again = await a.openChannel('counter', { name: 'k' });
    const closedFor: string[] = [];
    two.onClose((status) => closedFor.push(status));
    expect(await again.close('close')).toBe('close');
    await until(() => closedFor.length === 1);
    expect(closedFor).toEqual(['close']);
    const gone = await two.call('add', { by: 1 }).catch((e) => e);
    expect(gone.code).toBe('CHANNEL_CLOSED');
    expect(log.filter((line) => line.startsWith('dispose'))).toEqual(['dispose k at 1']);
    const last = await a.openChannel('counter', { name: 'solo' });
    expect(await last.close('tryClose')).toBe('close');
    expect(await last.close()).toBe('nothing');
  });

  test('streams run on channels; a call on a channel that is not open is CHANNEL_NOT_FOUND', async () => {
    await start();
    const a = client();
    const channel = await a.openChannel('counter');
    const seen: number[] = [];
    for await (const n of channel.stream('count', { upTo: 5 })) seen.push(n);
    expect(seen).toEqual([1, 2, 3, 4, 5]);
    const raw = new RawPeer(transport.connect('memory://x'));
    raw.send({ type: 'hello', wire: 1, protocol: 'channels-test', version: '1.0.0' });
    await raw.next((m) => m.type === 'welcome');
    raw.send({ type: 'call', id: 1, command: 'add', input: { by: 1 }, channel: 9 });
    expect(await raw.next((m) => m.id === 1)).toMatchObject({
      type: 'error',
      id: 1,
      code: 'CHANNEL_NOT_FOUND',
    });
    raw.socket.close(1000);
  });

  test('a dropped connection detaches its sessions, aborting calls on them; a named channel is reopened after the reconnect', async () => {
    await start();
    const [a, b] = [client(), client()];
    const mine = await a.openChannel('counter', { name: 'shared' });
    await b.openChannel('counter', { name: 'shared' });
    await mine.call('add', { by: 10 });
    const waiting = mine.call('wait', {}).catch((e) => e);
    transport.clientSockets[0]!.terminate();
    expect((await waiting).code).toBe('DISCONNECTED');
    await until(() => a.state === 'open' && mine.session === 4, 2000, 'the reopen');
    expect(await mine.call('add', { by: 1 })).toBe(11);
    expect(log).toEqual([
      'create shared',
      'attach shared 2',
      'attach shared 3',
      'detach shared 2',
      'attach shared 4',
    ]);
  });
});

describe('recording one channel', () => {
  test("keeps that channel's calls, replies and events, and nothing of the others", async () => {
    await start();
    const a = client();
    const first = await a.openChannel('counter', { name: 'one' });
    const second = await a.openChannel('counter', { name: 'two' });
    expect(server.startRecording(a.connectionId!, { channel: first.number })).toBe(true);
    await first.call('add', { by: 1 });
    await second.call('add', { by: 1 });
    await first.call('tell', { text: 'hi', to: 'all' });
    await a.call('misc.ping', {});
    const entries = server.readRecording(a.connectionId!)!;
    expect(entries.map((e) => [e.direction, e.message.type, e.channel])).toEqual([
      ['in', 'call', 1],
      ['out', 'result', 1],
      ['in', 'call', 1],
      ['out', 'event', 1],
      ['out', 'result', 1],
    ]);
  });
});

describe('shutdown', () => {
  test('server.close() resolves only after every instance has been disposed (a last save finishes)', async () => {
    transport = memoryTransport();
    const saved: number[] = [];
    server = await createServer({
      protocol: api,
      handlers: { misc: { ping: () => 'pong' as const } },
      services: {
        counter: {
          ...counter,
          dispose: async (state) => {
            await new Promise((resolve) => setTimeout(resolve, 30));
            saved.push(state.total);
          },
        },
      },
      transport: transport.server,
      auth: anonymous(['*']),
      logger: silentLogger,
    });
    const a = client();
    const channel = await a.openChannel('counter', { name: 'to-save' });
    await channel.call('add', { by: 7 });
    await server.close({ graceMs: 10 });
    expect(saved).toEqual([7]);
  });
});
