/**
 * End to end: a goval client built on @replit/protocol's bindings (an implementation not ours) talks
 * to a Switchboard server over a real socket: READY, then chat, files, exec and ot channels on one
 * connection, a second user on the same chat, and the close and ping control messages.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import replit from '@replit/protocol';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { WebSocket } from 'ws';
import { defineProtocol } from '../../src/protocol/index.js';
import { createServer, type Server, silentLogger } from '../../src/server/index.js';
import { chat, chatService } from '../../src/services/chat/index.js';
import { exec, execService } from '../../src/services/exec/index.js';
import { files, filesService } from '../../src/services/files/index.js';
import { crc32, ot, otService } from '../../src/services/ot/index.js';
import { decodeCommand, encodeCommand } from '../../src/wire/goval/codec.js';
import type { Command as SeedCommand } from '../../src/wire/goval/gen/api_pb.js';
import { govalTokenAuth, govalWire } from '../../src/wire/goval/index.js';

const { api } = replit;
type Command = ReturnType<typeof api.Command.decode>;
type CommandInit = NonNullable<Parameters<typeof api.Command.create>[0]>;

const WAIT_MS = 5000;

/** A goval client as crosis is: binary frames of api.Command, random base36 refs, replies matched by ref. */
class GovalClient {
  private readonly inbox: Command[] = [];
  /** Every wait in progress (a request and a nextBody may wait at once): each is woken by a frame. */
  private readonly waiters = new Set<() => void>();
  closed: Promise<{ code: number; reason: string }>;

  private constructor(private readonly socket: WebSocket) {
    socket.binaryType = 'arraybuffer';
    socket.on('message', (data: ArrayBuffer) => {
      this.inbox.push(api.Command.decode(new Uint8Array(data)));
      for (const wake of [...this.waiters]) wake();
    });
    this.closed = new Promise((resolve) =>
      socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
  }

  static connect(url: string): GovalClient {
    return new GovalClient(new WebSocket(url));
  }

  /** The first received command that matches, waiting for it. */
  async next(what: string, matches: (command: Command) => boolean): Promise<Command> {
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      const index = this.inbox.findIndex(matches);
      if (index >= 0) return this.inbox.splice(index, 1)[0]!;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${what} within ${WAIT_MS} ms`);
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          this.waiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, left);
        this.waiters.add(wake);
      });
    }
  }

  /** The next command carrying body `body` on `channel`. */
  nextBody(channel: number, body: string): Promise<Command> {
    return this.next(`${body} on channel ${channel}`, (c) => c.channel === channel && c.body === body);
  }

  send(command: CommandInit): void {
    this.socket.send(api.Command.encode(api.Command.create(command)).finish());
  }

  /** Sends with a fresh ref and resolves with the reply carrying it, as crosis's `Channel.request`. */
  request(command: CommandInit): Promise<Command> {
    const ref = Math.random().toString(36).slice(2);
    const channel = command.channel ?? 0;
    this.send({ ...command, ref });
    return this.next(`reply to ${ref}`, (c) => c.ref === ref && c.channel === channel);
  }

  async open(service: string, name: string): Promise<number> {
    const reply = await this.request({ openChan: { service, name, action: 2 } });
    expect(reply.body).toBe('openChanRes');
    expect(reply.openChanRes?.state).not.toBe(2);
    return reply.openChanRes!.id!;
  }

  close(): void {
    this.socket.close();
  }
}

const protocol = defineProtocol({
  name: 'goval-e2e',
  version: '1.0.0',
  resources: {},
  services: { chat: chatService, files: filesService, exec: execService, ot: otService },
});

const users: Record<string, { id: string; name: string; userId: number }> = {
  'token-alice': { id: 'alice', name: 'alice', userId: 7 },
  'token-bob': { id: 'bob', name: 'bob', userId: 8 },
};

let server: Server<typeof protocol>;
let root: string;
let base: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'goval-e2e-'));
  await writeFile(join(root, 'hello.txt'), 'hi\n');
  server = await createServer({
    protocol,
    handlers: {},
    services: {
      chat: chat(),
      files: files({ root }),
      exec: exec({ enabled: true, allow: ['echo', 'false'], cwd: root }),
      ot: ot(),
    },
    wire: govalWire(),
    recording: { inBand: true },
    auth: govalTokenAuth((token) => {
      const user = users[token];
      return (
        user && { id: user.id, permissions: ['*'], attributes: { name: user.name, userId: user.userId } }
      );
    }),
    port: 0,
    host: '127.0.0.1',
    logger: silentLogger,
  });
  base = `ws://127.0.0.1:${server.port}`;
});

afterAll(async () => {
  await server?.close();
  await rm(root, { recursive: true, force: true });
});

describe('a goval client on a Switchboard server', () => {
  test('a refused token closes the socket before READY', async () => {
    const client = GovalClient.connect(`${base}/wsv2/token-mallory`);
    // The core's HANDSHAKE_FAILED (4100) goes out as 1008, on which crosis refetches its token.
    expect(await client.closed).toEqual({ code: 1008, reason: 'invalid token' });
  });

  test('READY, then chat, files, exec and ot channels on one connection', async () => {
    const alice = GovalClient.connect(`${base}/wsv2/token-alice`);
    const ready = await alice.nextBody(0, 'containerState');
    expect(api.Command.toObject(ready)).toEqual({ containerState: { state: 1 } });

    // chat: the new session gets the scrollback, then the roster with itself in it.
    const chatChannel = await alice.open('chat', 'general');
    expect(chatChannel).toBe(1);
    const scrollback = await alice.nextBody(chatChannel, 'chatScrollback');
    expect(api.Command.toObject(scrollback)).toEqual({ channel: 1, session: 2, chatScrollback: {} });
    const roster = await alice.nextBody(chatChannel, 'roster');
    expect(api.Command.toObject(roster)).toEqual({
      channel: 1,
      session: 2,
      roster: { user: [{ id: 7, name: 'alice', session: 2 }] },
    });
    const sent = await alice.request({ channel: chatChannel, chatMessage: { text: 'hello, anyone?' } });
    expect(sent.body).toBe('ok');

    // A second user on the same chat: alice sees the join, then bob's message, each with the session rule.
    const bob = GovalClient.connect(`${base}/wsv2/token-bob`);
    await bob.nextBody(0, 'containerState');
    const bobChat = await bob.open('chat', 'general');
    expect(api.Command.toObject(await bob.nextBody(bobChat, 'chatScrollback'))).toEqual({
      channel: bobChat,
      session: 3,
      chatScrollback: { scrollback: [{ username: 'alice', text: 'hello, anyone?' }] },
    });
    expect(api.Command.toObject(await alice.nextBody(chatChannel, 'join'))).toEqual({
      channel: 1,
      session: -3,
      join: { id: 8, name: 'bob', session: 3 },
    });
    bob.send({ channel: bobChat, chatMessage: { username: 'ignored', text: 'hi alice' } });
    expect(api.Command.toObject(await alice.nextBody(chatChannel, 'chatMessage'))).toEqual({
      channel: 1,
      session: -3,
      chatMessage: { username: 'bob', text: 'hi alice' },
    });

    // files
    const filesChannel = await alice.open('files', '');
    expect(filesChannel).toBe(2);
    const read = await alice.request({ channel: filesChannel, read: { path: 'hello.txt' } });
    expect(read.body).toBe('file');
    expect(read.file?.path).toBe('hello.txt');
    expect(Buffer.from(read.file!.content!).toString()).toBe('hi\n');
    expect(
      (
        await alice.request({
          channel: filesChannel,
          write: { path: 'new.txt', content: Buffer.from('new') },
        })
      ).body,
    ).toBe('ok');
    expect(await readFile(join(root, 'new.txt'), 'utf8')).toBe('new');
    const stat = await alice.request({ channel: filesChannel, stat: { path: 'new.txt' } });
    const statRes = api.StatResult.toObject(stat.statRes!, { longs: Number });
    expect(statRes).toMatchObject({ exists: true, size: 3 });
    expect(statRes.type).toBeUndefined(); // REGULAR, proto3's zero
    expect(statRes.fileMode).toMatch(/^0[0-7]{3}$/);
    expect(Math.abs(statRes.modTime - Date.now() / 1000)).toBeLessThan(60);
    const listing = await alice.request({ channel: filesChannel, readdir: { path: '.' } });
    expect(listing.files!.files!.map((file) => file.path).sort()).toEqual(['hello.txt', 'new.txt']);
    const outside = await alice.request({ channel: filesChannel, read: { path: '../outside' } });
    expect(outside.body).toBe('error');
    expect(outside.error).toMatch(/outside/);

    // exec: output without the ref, then the answer with it.
    const execChannel = await alice.open('exec', '');
    const ran = alice.request({ channel: execChannel, exec: { args: ['echo', 'hello'] } });
    expect((await alice.nextBody(execChannel, 'output')).output).toBe('hello\n');
    expect((await ran).body).toBe('ok');

    // ot
    const otChannel = await alice.open('ot', 'doc');
    const linked = await alice.request({ channel: otChannel, otLinkFile: {} });
    expect(api.OTStatus.toObject(linked.otstatus!)).toEqual({});
    const applied = await alice.request({
      channel: otChannel,
      ot: { version: 0, op: [{ insert: 'héllo' }], crc32: crc32('héllo') },
    });
    expect(api.OTPacket.toObject(applied.ot!)).toEqual({
      op: [{ insert: 'héllo' }],
      crc32: crc32('héllo'),
      version: 1,
    });
    const fetched = await alice.request({
      channel: otChannel,
      otFetchRequest: { versionFrom: 1, versionTo: 1 },
    });
    expect(api.OTFetchResponse.toObject(fetched.otFetchResponse!)).toEqual({
      packets: [{ op: [{ insert: 'héllo' }], crc32: crc32('héllo'), version: 1 }],
    });

    // control: ping, and try-close while bob is still attached to the chat (only alice's session leaves).
    alice.send({ ping: {} });
    expect(api.Command.toObject(await alice.nextBody(0, 'pong'))).toEqual({ pong: {} });
    const closed = await alice.request({ closeChan: { id: chatChannel, action: 1 } });
    expect(api.Command.toObject(closed)).toEqual({ closeChanRes: { id: chatChannel }, ref: closed.ref });
    expect(api.Command.toObject(await bob.nextBody(bobChat, 'part'))).toEqual({
      channel: bobChat,
      session: -2,
      part: { id: 7, name: 'alice', session: 2 },
    });

    alice.close();
    bob.close();
  });

  test('two users: ot edits, cursors, file events and exec failures reach the right sessions', async () => {
    const alice = GovalClient.connect(`${base}/wsv2/token-alice`);
    const bob = GovalClient.connect(`${base}/wsv2/token-bob`);
    await alice.nextBody(0, 'containerState');
    await bob.nextBody(0, 'containerState');

    // ot: bob's edit, based on version 0, reaches alice as an ot event; alice's cursor reaches bob.
    const aliceOt = await alice.open('ot', 'shared-doc');
    const bobOt = await bob.open('ot', 'shared-doc');
    await alice.request({ channel: aliceOt, otLinkFile: {} });
    await bob.request({ channel: bobOt, otLinkFile: {} });
    const applied = await bob.request({ channel: bobOt, ot: { version: 0, op: [{ insert: 'abc' }] } });
    expect(api.OTPacket.toObject(applied.ot!)).toEqual({
      op: [{ insert: 'abc' }],
      crc32: crc32('abc'),
      version: 1,
    });
    const edit = await alice.nextBody(aliceOt, 'ot');
    expect(edit.session).toBeLessThan(0);
    expect(api.OTPacket.toObject(edit.ot!)).toEqual({
      op: [{ insert: 'abc' }],
      crc32: crc32('abc'),
      version: 1,
    });
    const cursor = await alice.request({
      channel: aliceOt,
      otNewCursor: { position: 2, selectionStart: 1, selectionEnd: 2, id: 'alice-1' },
    });
    expect(cursor.body).toBe('ok');
    const seen = await bob.nextBody(bobOt, 'otNewCursor');
    expect(api.OTCursor.toObject(seen.otNewCursor!)).toMatchObject({
      position: 2,
      selectionStart: 1,
      selectionEnd: 2,
      id: 'alice-1',
      user: { id: 7, name: 'alice' },
    });
    expect((await alice.request({ channel: aliceOt, otDeleteCursor: { id: 'alice-1' } })).body).toBe('ok');
    expect(api.OTCursor.toObject((await bob.nextBody(bobOt, 'otDeleteCursor')).otDeleteCursor!)).toEqual({
      id: 'alice-1',
    });

    // files: alice subscribes, bob writes, alice is told.
    const aliceFiles = await alice.open('files', 'project');
    const bobFiles = await bob.open('files', 'project');
    expect(
      (await alice.request({ channel: aliceFiles, subscribeFile: { files: [{ path: 'watched.txt' }] } }))
        .body,
    ).toBe('ok');
    await bob.request({ channel: bobFiles, write: { path: 'watched.txt', content: Buffer.from('x') } });
    const event = await alice.nextBody(aliceFiles, 'fileEvent');
    expect(api.FileEvent.toObject(event.fileEvent!)).toEqual({ file: { path: 'watched.txt' } }); // Create = 0

    // exec: a failing program answers with its exit status.
    const execChannel = await bob.open('exec', '');
    const failed = await bob.request({ channel: execChannel, exec: { args: ['false'] } });
    expect(api.Command.toObject(failed)).toEqual({
      channel: execChannel,
      error: 'exit status 1',
      ref: failed.ref,
    });
    const refused = await bob.request({ channel: execChannel, exec: { args: ['rm', '-rf', '/'] } });
    expect(api.Command.toObject(refused)).toEqual({
      channel: execChannel,
      error: '"rm" is not allowed',
      ref: refused.ref,
    });

    alice.close();
    bob.close();
  });

  test('a server shutting down with a reconnect URL redirects goval clients, then closes with 1012', async () => {
    const moving = await createServer({
      protocol,
      handlers: {},
      services: { chat: chat() },
      wire: govalWire(),
      auth: govalTokenAuth((token) =>
        token === 'token-alice' ? { id: 'alice', permissions: ['*'] } : undefined,
      ),
      port: 0,
      host: '127.0.0.1',
      logger: silentLogger,
    });
    const client = GovalClient.connect(`ws://127.0.0.1:${moving.port}/wsv2/token-alice`);
    await client.nextBody(0, 'containerState');
    await moving.close({ reconnectUrl: 'ws://other.example:4560', reason: 'moving' });
    expect(api.Command.toObject(await client.nextBody(0, 'redirect'))).toEqual({
      redirect: { url: 'ws://other.example:4560' },
    });
    expect(await client.closed).toEqual({ code: 1012, reason: 'moving' });
  });
});

describe("goval's VCR", () => {
  /**
   * @replit/protocol 0.4.27 no longer has startVCR, readVCR or VCRLog (the seed's proto does), so this
   * client speaks Commands encoded from the seed's proto with the generated code.
   */
  async function seedClient(url: string) {
    const socket = new WebSocket(url);
    socket.binaryType = 'arraybuffer';
    const inbox: SeedCommand[] = [];
    const waiters = new Set<() => void>();
    socket.on('message', (data: ArrayBuffer) => {
      const decoded = decodeCommand(new Uint8Array(data));
      if (decoded.ok) inbox.push(decoded.command);
      for (const wake of [...waiters]) wake();
    });
    const next = async (matches: (command: SeedCommand) => boolean) => {
      const deadline = Date.now() + WAIT_MS;
      for (;;) {
        const index = inbox.findIndex(matches);
        if (index >= 0) return inbox.splice(index, 1)[0]!;
        if (Date.now() > deadline) throw new Error('no matching Command');
        await new Promise<void>((resolve) => {
          const wake = () => {
            waiters.delete(wake);
            resolve();
          };
          waiters.add(wake);
          setTimeout(wake, 50);
        });
      }
    };
    await next((command) => command.body.case === 'containerState');
    let refs = 0;
    const request = (init: Parameters<typeof encodeCommand>[0]) => {
      const ref = `r${++refs}`;
      socket.send(encodeCommand({ ...init, ref }));
      return next((command) => command.ref === ref);
    };
    return {
      socket,
      request,
      send: (init: Parameters<typeof encodeCommand>[0]) => socket.send(encodeCommand(init)),
    };
  }

  test('startVCR, then traffic, then readVCR gives the Commands that crossed, with time and direction', async () => {
    const alice = await seedClient(`${base}/wsv2/token-alice`);
    const before = Date.now();
    const started = await alice.request({ channel: 0, body: { case: 'startVCR', value: {} } });
    expect(started.body.case).toBe('ok');
    const opened = await alice.request({
      channel: 0,
      body: { case: 'openChan', value: { service: 'chat', name: 'vcr-room', action: 2 } },
    });
    const channel = opened.body.case === 'openChanRes' ? opened.body.value.id : -1;
    alice.send({
      channel,
      body: { case: 'chatMessage', value: { username: 'alice', text: 'on the record' } },
    });
    const read = await alice.request({ channel: 0, body: { case: 'readVCR', value: {} } });
    if (read.body.case !== 'VCRLog') throw new Error(`expected VCRLog, got ${read.body.case}`);
    const log = read.body.value.log.map((entry) => ({
      direction: entry.direction,
      body: entry.command?.body.case,
      at: Number(entry.timestamp),
    }));
    // IN = 0, OUT = 1: the ok to startVCR, the open and its answer, the attach events, the message,
    // and the readVCR itself.
    expect(log.map(({ direction, body }) => [direction, body])).toEqual([
      [1, 'ok'],
      [0, 'openChan'],
      [1, 'openChanRes'],
      [1, 'chatScrollback'],
      [1, 'roster'],
      [0, 'chatMessage'],
      [0, 'readVCR'],
    ]);
    expect(log.every(({ at }) => at >= before && at <= Date.now())).toBe(true);
    const message = read.body.value.log[5]!.command!;
    expect([message.channel, message.body.case === 'chatMessage' && message.body.value.text]).toEqual([
      channel,
      'on the record',
    ]);
    alice.socket.close();
  });
});
