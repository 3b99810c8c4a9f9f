/**
 * The goval wire (docs/goval.md) under attack: servers/goval.ts in its own process, a client built on
 * @replit/protocol (as crosis is) as the witness. A frame that is not a Command is answered with an
 * `error` body without a ref on channel 0 and the connection stays open; a text frame closes with 1003.
 */
import replit from '@replit/protocol';
import { expect } from 'vitest';
import { WebSocket } from 'ws';
import { mutatedBytes } from './support/mutate.js';
import type { RawWebSocket, ServerFrame } from './support/raw-ws.js';
import { adversarialSuite, HEAP_BOUND_BYTES, type HostileCase, type Outcome } from './support/suite.js';
import { allWitnesses, pacedWitness } from './support/witness.js';

const { api } = replit;
type CommandInit = NonNullable<Parameters<typeof api.Command.create>[0]>;
type Command = ReturnType<typeof api.Command.decode>;

const encode = (command: CommandInit): Uint8Array => api.Command.encode(api.Command.create(command)).finish();
const decode = (frame: ServerFrame): Command => api.Command.decode(new Uint8Array(frame.payload));

const golden = [
  encode({ ref: 'r1', ping: {} }),
  encode({ channel: 1, ref: 'r2', chatMessage: { username: 'x', text: 'hello, anyone?' } }),
  encode({ channel: 2, ref: 'r3', read: { path: 'hello.txt' } }),
  encode({ ref: 'r4', closeChan: { id: 1, action: 2 } }),
  encode({ channel: 3, ref: 'r5', ot: { op: [{ insert: 'x' }, { skip: 1 }] } }),
  encode({ channel: 0, ref: 'r6', chatTyping: { username: 'x', typing: true } }),
];
/** Opening channels creates instances; in the mutated set, not in the long run. */
const opening = [
  encode({ ref: 'o1', openChan: { service: 'chat', name: 'general', action: 2 } }),
  encode({ ref: 'o2', openChan: { service: 'files', name: '', action: 2 } }),
  encode({ ref: 'o3', openChan: { service: 'ot', name: 'doc', action: 2 } }),
];

/** A Command whose body is the error the docs name, on `channel`, with `ref` ('' for none). */
const errorBody = (channel: number, ref: string): Outcome => ({
  reply: (frame) => {
    const command = decode(frame);
    expect(command.body).toBe('error');
    expect(command.channel ?? 0).toBe(channel);
    expect(command.ref ?? '').toBe(ref);
  },
});

const openFails = (ref: string): Outcome => ({
  reply: (frame) => {
    const command = decode(frame);
    expect(command.ref).toBe(ref);
    expect(command.body).toBe('openChanRes');
    expect(command.openChanRes?.state).toBe(api.OpenChannelRes.State.ERROR);
  },
});

/** `depth` nested start-group tags of an unknown field (15), never ended: the decoder must not recurse. */
function nestedGroups(depth: number, closed: boolean): Uint8Array {
  const start = Buffer.alloc(depth, 0x7b);
  return closed ? Buffer.concat([start, Buffer.alloc(depth, 0x7c)]) : start;
}

/** A varint of 10 bytes, all continuation bits set but the last: past 64 bits. */
const overlongVarint = Buffer.from([0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]);

const hostile: HostileCase[] = [
  {
    name: '65 nested groups of an unknown field are a malformed Command: error without a ref on channel 0',
    frame: nestedGroups(65, true),
    outcome: errorBody(0, ''),
  },
  {
    name: '100,000 nested groups of an unknown field, never ended: error without a ref on channel 0',
    frame: nestedGroups(100_000, false),
    outcome: errorBody(0, ''),
  },
  {
    name: '100,000 nested groups, all ended (200 KB): error without a ref on channel 0, or read past',
    frame: nestedGroups(100_000, true),
    outcome: { documented: true },
  },
  {
    name: 'a length-delimited field announcing 2^32 bytes: error without a ref on channel 0',
    frame: Buffer.from([0x12, 0x80, 0x80, 0x80, 0x80, 0x10, 0x01]),
    outcome: errorBody(0, ''),
  },
  {
    name: 'a varint longer than 64 bits: error without a ref on channel 0',
    frame: overlongVarint,
    outcome: errorBody(0, ''),
  },
  {
    name: 'channel 2^31-1 (never opened): an error body with the ref on that channel',
    frame: encode({ channel: 2147483647, ref: 'big', read: { path: 'hello.txt' } }),
    outcome: errorBody(2147483647, 'big'),
  },
  {
    name: 'channel -1: an error body with the ref',
    frame: encode({ channel: -1, ref: 'neg', read: { path: 'hello.txt' } }),
    outcome: { reply: (frame) => expect(decode(frame)).toMatchObject({ ref: 'neg', body: 'error' }) },
  },
  {
    name: 'closeChan of channel 2^31-1 with action 99: an error body with the ref',
    frame: encode({ ref: 'cc', closeChan: { id: 2147483647, action: 99 as 0 } }),
    outcome: { reply: (frame) => expect(decode(frame)).toMatchObject({ ref: 'cc', body: 'error' }) },
  },
  {
    name: 'a ref of 129 characters is refused: an error body',
    frame: encode({ ref: 'r'.repeat(129), ping: {} }),
    outcome: { reply: (frame) => expect(decode(frame).body).toBe('error') },
  },
  ...['__proto__', 'constructor', 'toString', 'hasOwnProperty'].map(
    (service, i): HostileCase => ({
      name: `openChan of service "${service}" fails with openChanRes ERROR`,
      frame: encode({ ref: `p${i}`, openChan: { service, name: 'x', action: 2 } }),
      outcome: openFails(`p${i}`),
    }),
  ),
  {
    name: 'openChan of a chat named "__proto__" opens a plain instance and pollutes nothing',
    frame: encode({ ref: 'pn', openChan: { service: 'chat', name: '__proto__', action: 2 } }),
    outcome: {
      reply: (frame) => {
        const command = decode(frame);
        expect(command.ref).toBe('pn');
        expect(command.body).toBe('openChanRes');
      },
    },
  },
];

const CONTROL_AND_SERVICE_BODIES = new Set([
  'error',
  'ok',
  'pong',
  'openChanRes',
  'closeChanRes',
  'containerState',
  'chatMessage',
  'chatScrollback',
  'chatTyping',
  'roster',
  'join',
  'part',
  'file',
  'files',
  'ot',
  'otstatus',
  'otNewCursor',
  'otDeleteCursor',
  'flush',
  'output',
  'state',
  'redirect',
  'toast',
]);

/** A goval client as crosis is: binary frames of api.Command, replies matched by ref. */
class GovalWitness {
  private readonly waiting = new Map<string, (command: Command) => void>();
  readonly ready: Promise<void>;
  chatChannel = 0;

  constructor(port: number) {
    const socket = new WebSocket(`ws://127.0.0.1:${port}/wsv2/token-alice`);
    socket.binaryType = 'arraybuffer';
    this.socket = socket;
    socket.on('message', (data: ArrayBuffer) => {
      const command = api.Command.decode(new Uint8Array(data));
      if (command.ref) this.waiting.get(command.ref)?.(command);
    });
    this.ready = new Promise<void>((resolve) => socket.once('message', () => resolve())).then(async () => {
      const opened = await this.request({ openChan: { service: 'chat', name: 'witness', action: 2 } });
      this.chatChannel = opened.openChanRes?.id as number;
    });
  }

  private readonly socket: WebSocket;

  request(command: CommandInit, ref = Math.random().toString(36).slice(2)): Promise<Command> {
    return new Promise((resolve) => {
      this.waiting.set(ref, (reply) => {
        this.waiting.delete(ref);
        resolve(reply);
      });
      this.socket.send(encode({ ...command, ref }));
    });
  }

  close(): void {
    this.socket.close();
  }
}

adversarialSuite({
  name: 'goval',
  script: 'goval',
  dataOpcode: 2,
  upgrade: async () => ({ path: '/wsv2/token-alice' }),
  async handshake(ws: RawWebSocket) {
    const ready = decode(await ws.message(0));
    if (ready.body !== 'containerState') throw new Error(`expected READY, got ${ready.body}`);
    ws.messages.shift();
  },
  golden,
  // Pushes (scrollback, roster, joins) carry no ref; errors without a ref are replies to malformed frames.
  ignorable: (frame) => {
    try {
      const command = decode(frame);
      return !command.ref && command.body !== 'error';
    } catch {
      return false;
    }
  },
  exchange: (n) => ({
    frame: encode({ ref: `probe-${n}`, ping: {} }),
    answers: (reply) => reply.payload.includes(`probe-${n}`),
    check: (reply) => expect(api.Command.toObject(decode(reply))).toEqual({ ref: `probe-${n}`, pong: {} }),
  }),
  undocumented(frame) {
    let command: Command;
    try {
      command = decode(frame);
    } catch (error) {
      return `not a Command: ${String(error)}`;
    }
    if (!CONTROL_AND_SERVICE_BODIES.has(command.body as string)) return `body ${command.body}`;
    if (command.body === 'error' && /internal/i.test(command.error ?? ''))
      return `internal: ${command.error}`;
    return undefined;
  },
  documentedCloses: [1003, 1007, 1009],
  garbage: { documented: true },
  otherDataType: { close: 1003 },
  maxMessageBytes: 256 * 1024,
  mutated: mutatedBytes([...golden, ...opening]),
  mutatedKeepingOpen: mutatedBytes(golden),
  hostile,
  flood: {
    frames: (n) => Array.from({ length: n }, (_, i) => encode({ ref: `f${i}`, ping: {} })),
    check(replies, close) {
      // docs/limits.md: a peer still sending when dropped may see a reset instead of the close frame.
      expect([4202, undefined]).toContain(close);
      const commands = replies.map(decode);
      expect(commands.filter((c) => c.body === 'error').length).toBeLessThanOrEqual(1);
      for (const c of commands.filter((c) => c.body !== 'error')) expect(c.body).toBe('pong');
    },
    refusedWith: 429,
  },
  // 4200 lets a dead peer's socket go after the core's 1 s close grace (CLOSE_GRACE_MS).
  stuck: { close: 4200, withinMs: 2500, lingerMs: 1250 },
  witness(server) {
    const each = (port: number) => {
      const client = new GovalWitness(port);
      const witness = pacedWitness(
        `witness on ${port}`,
        async (n) => {
          await client.ready;
          const reply = await client.request(
            { channel: client.chatChannel, chatMessage: { text: `witness ${n}` } },
            `w-${n}`,
          );
          expect(api.Command.toObject(reply)).toEqual({ channel: client.chatChannel, ref: `w-${n}`, ok: {} });
        },
        () => client.close(),
      );
      return witness;
    };
    return allWitnesses([each(server.ports.main as number), each(server.ports.tight as number)]);
  },
  heapBoundBytes: HEAP_BOUND_BYTES,
});
