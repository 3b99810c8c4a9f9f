import { describe, expect, test } from 'vitest';
import {
  BootStage,
  bootStatusFrame,
  GOVAL_WIRE_NAME,
  govalWire,
  toastFrame,
} from '../../../src/wire/goval/index.js';
import type { Message } from '../../../src/wire/message.js';
import { hex, theirFrame, theirs } from './interop.js';

const wire = govalWire();
const encode = (message: Message) => wire.encode(message);

describe('the goval wire', () => {
  test('is binary, has no hello, and is named after the seed', () => {
    expect({ name: wire.name, frame: wire.frame, handshake: wire.handshake }).toEqual({
      name: GOVAL_WIRE_NAME,
      frame: 'binary',
      handshake: 'upgrade',
    });
  });
});

describe('encoding control messages (read back by @replit/protocol)', () => {
  test('welcome is containerState READY on channel 0, and nothing else', () => {
    const frame = encode({
      type: 'welcome',
      connectionId: 'c1',
      protocol: 'p',
      version: '1.0.0',
      principal: { id: 'alice', permissions: [] },
      heartbeatMs: 30_000,
      limits: { maxMessageBytes: 1, maxInFlight: 1, ratePerSecond: 1 },
    });
    expect(hex(frame)).toBe('4a020801');
    expect(theirs(frame)).toEqual({ containerState: { state: 1 } });
  });

  test('opened is openChanRes with the ref, the channel as id and the session on the Command', () => {
    const created = encode({ type: 'opened', id: 'k3x9', channel: 3, session: 2, state: 'created' });
    // session 2 · openChanRes (4) {id 3} · ref (1000) "k3x9"
    expect(hex(created)).toBe('1002' + '22020803' + 'c23e046b337839');
    expect(theirs(created)).toEqual({ session: 2, openChanRes: { id: 3 }, ref: 'k3x9' });
    const attached = encode({ type: 'opened', id: 'k3x9', channel: 7, session: 4, state: 'attached' });
    expect(theirs(attached)).toEqual({ session: 4, openChanRes: { id: 7, state: 1 }, ref: 'k3x9' });
  });

  test('an error answering open is openChanRes ERROR with the text, on channel 0', () => {
    const frame = encode({
      type: 'error',
      id: 'r1',
      code: 'NOT_FOUND',
      message: 'no service "nope"',
      command: 'open',
    });
    expect(theirs(frame)).toEqual({ openChanRes: { state: 2, error: 'no service "nope"' }, ref: 'r1' });
  });

  test('channelClosed is closeChanRes with the ref; without an id it has no ref', () => {
    expect(theirs(encode({ type: 'channelClosed', id: 'r2', channel: 3, status: 'close' }))).toEqual({
      closeChanRes: { id: 3, status: 1 },
      ref: 'r2',
    });
    expect(theirs(encode({ type: 'channelClosed', id: 'r2', channel: 3, status: 'nothing' }))).toEqual({
      closeChanRes: { id: 3, status: 2 },
      ref: 'r2',
    });
    expect(theirs(encode({ type: 'channelClosed', channel: 5, status: 'disconnect' }))).toEqual({
      closeChanRes: { id: 5 },
    });
  });

  test('goodbye with a reconnect URL is redirect; without one nothing is sent', () => {
    const frame = encode({ type: 'goodbye', reason: 'shutdown', reconnectUrl: 'ws://b.example/wsv2/t' });
    expect(theirs(frame)).toEqual({ redirect: { url: 'ws://b.example/wsv2/t' } });
    expect(encode({ type: 'goodbye', reason: 'shutdown' })).toBeNull();
  });

  test('the server pings at the WebSocket level; pong is an empty pong on channel 0', () => {
    expect(encode({ type: 'ping', ts: 1 })).toBeNull();
    const pong = encode({ type: 'pong', ts: 0, at: 5 });
    expect(hex(pong)).toBe('ca0700');
    expect(theirs(pong)).toEqual({ pong: {} });
    // A pong answering a ping sent with a ref goes back on the ping's channel with that ref.
    expect(theirs(encode({ type: 'pong', ts: 0, at: 5, id: '3/p' }))).toEqual({
      channel: 3,
      ref: 'p',
      pong: {},
    });
  });

  test('bootStatus and toast frames for servers that send them', () => {
    expect(theirs(bootStatusFrame(BootStage.PULL_FILES, 3, 10))).toEqual({
      bootStatus: { stage: 6, progress: 3, total: 10 },
    });
    expect(theirs(bootStatusFrame(BootStage.COMPLETE))).toEqual({ bootStatus: { stage: 4 } });
    expect(theirs(toastFrame('saved'))).toEqual({ toast: { text: 'saved' } });
  });

  test('an error without a call is an error body on channel 0 without ref', () => {
    expect(theirs(encode({ type: 'error', code: 'BAD_MESSAGE', message: 'not a goval Command' }))).toEqual({
      error: 'not a goval Command',
    });
  });

  test('topic messages have no goval form', () => {
    expect(encode({ type: 'publication', key: 'k', epoch: 'e', offset: 1, payload: null })).toBeNull();
  });
});

describe('decoding control messages (written by @replit/protocol)', () => {
  test('openChan with a ref opens a channel whose id names channel 0 and the ref', () => {
    const frame = theirFrame({ ref: 'k3x9', openChan: { service: 'chat', name: 'general', action: 2 } });
    expect(wire.decode(frame)).toEqual({
      ok: true,
      message: { type: 'open', id: '0/k3x9', service: 'chat', name: 'general', action: 'attachOrCreate' },
    });
    expect(wire.decode(theirFrame({ ref: 'a', openChan: { service: 'files' } }))).toEqual({
      ok: true,
      message: { type: 'open', id: '0/a', service: 'files', action: 'create' },
    });
    expect(wire.decode(theirFrame({ ref: 'a', openChan: { service: 'ot', name: 'x', action: 1 } }))).toEqual({
      ok: true,
      message: { type: 'open', id: '0/a', service: 'ot', name: 'x', action: 'attach' },
    });
  });

  test('a command without a ref gets a numbered id, new for each command, and its replies no ref', () => {
    const own = govalWire();
    const first = own.decode(theirFrame({ openChan: { service: 'chat' } }));
    const second = own.decode(theirFrame({ openChan: { service: 'chat' } }));
    expect(first).toEqual({
      ok: true,
      message: { type: 'open', id: '0#1', service: 'chat', action: 'create' },
    });
    expect(second).toEqual({
      ok: true,
      message: { type: 'open', id: '0#2', service: 'chat', action: 'create' },
    });
    expect(
      theirs(own.encode({ type: 'opened', id: '0#1', channel: 1, session: 2, state: 'created' })),
    ).toEqual({
      session: 2,
      openChanRes: { id: 1 },
    });
  });

  test('closeChan closes the channel it names', () => {
    for (const [action, name] of [
      [0, 'disconnect'],
      [1, 'tryClose'],
      [2, 'close'],
    ] as const) {
      expect(wire.decode(theirFrame({ ref: 'c', closeChan: { id: 4, action } }))).toEqual({
        ok: true,
        message: { type: 'closeChannel', id: '0/c', channel: 4, action: name },
      });
    }
  });

  test('ping and pong carry no time: both decode with 0; a ping keeps its channel and ref as its id', () => {
    expect(wire.decode(theirFrame({ ping: {} }))).toEqual({
      ok: true,
      message: { type: 'ping', ts: 0, id: expect.stringMatching(/^0#\d+$/) },
    });
    expect(wire.decode(theirFrame({ channel: 3, ref: 'p', ping: {} }))).toEqual({
      ok: true,
      message: { type: 'ping', ts: 0, id: '3/p' },
    });
    expect(wire.decode(theirFrame({ pong: {} }))).toEqual({
      ok: true,
      message: { type: 'pong', ts: 0, at: 0 },
    });
  });
});

describe('refusing what a goval server does not take', () => {
  test('a text frame is UNSUPPORTED_FRAME', () => {
    expect(wire.decode('{"ping":{}}')).toEqual({
      ok: false,
      error: { code: 'UNSUPPORTED_FRAME', message: 'text frame on the goval wire' },
    });
  });

  test('bytes that are not a Command are BAD_MESSAGE', () => {
    const decoded = wire.decode(new Uint8Array([0x0a, 0xff]));
    expect(decoded.ok).toBe(false);
    if (!decoded.ok) {
      expect(decoded.error.code).toBe('BAD_MESSAGE');
      expect(decoded.error.message).toMatch(/^not a goval Command: /);
      expect(decoded.error.id).toBeUndefined();
    }
  });

  test.each([
    [{ ref: 'r', channel: 2, openChan: { service: 'chat' } }, 'openChan must be on channel 0'],
    [{ ref: 'r', channel: 1, closeChan: { id: 1 } }, 'closeChan must be on channel 0'],
    [{ ref: 'r', openChan: { service: 'chat', action: 9 } }, 'openChan: unknown action 9'],
    [{ ref: 'r', closeChan: { id: 0, action: 1 } }, 'closeChan: channel 0 is not a service channel'],
    [{ ref: 'r', read: { path: 'a' } }, '"read" is not a control message and must be on a service channel'],
    [{ ref: 'r', channel: 2, runMain: {} }, '"runMain" is not supported by this server'],
    [{ ref: 'r', channel: 2 }, 'a Command without a body'],
    [
      // @replit/protocol names OTPacket's field 2 `op`; the seed names it `ops`.
      { ref: 'r', channel: 2, ot: { version: 1, op: [{ skip: 1 }, {}] } },
      'ot: op 1 is none of skip, delete, insert',
    ],
  ])('%j is BAD_MESSAGE answered with its ref', (command, message) => {
    expect(wire.decode(theirFrame(command))).toEqual({
      ok: false,
      error: { code: 'BAD_MESSAGE', message, id: `${(command as { channel?: number }).channel ?? 0}/r` },
    });
  });

  test('a ref over 128 characters is refused', () => {
    expect(wire.decode(theirFrame({ ref: 'x'.repeat(129), ping: {} }))).toEqual({
      ok: false,
      error: { code: 'BAD_MESSAGE', message: 'ref longer than 128 characters' },
    });
  });
});
