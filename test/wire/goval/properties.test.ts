import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { decodeCommand, govalWire, MAX_REF_LENGTH } from '../../../src/wire/goval/index.js';
import { opsFromGoval } from '../../../src/wire/goval/services/ot.js';
import { theirFrame, theirs } from './interop.js';

const wire = govalWire();
const text = fc.string({ unit: 'grapheme', maxLength: 40 });
const ref = fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: MAX_REF_LENGTH });
const uint32 = fc.integer({ min: 0, max: 0xffff_ffff });
const channel = fc.integer({ min: 1, max: 0x7fff_ffff });
const op = fc.oneof(
  uint32.filter((n) => n > 0).map((skip) => ({ skip })),
  uint32.filter((n) => n > 0).map((n) => ({ delete: n })),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }).map((insert) => ({ insert })),
);

describe('decode never throws', () => {
  test('arbitrary bytes decode to a message or a typed BAD_MESSAGE', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const decoded = wire.decode(bytes);
        if (!decoded.ok) expect(decoded.error.code).toBe('BAD_MESSAGE');
        else expect(['open', 'closeChannel', 'call', 'ping', 'pong']).toContain(decoded.message.type);
      }),
      { numRuns: 2000 },
    );
  });

  test('valid frames cut short or with a byte changed still decode without throwing', () => {
    const valid = fc.constantFrom(
      theirFrame({ ref: 'k3x9', openChan: { service: 'chat', name: 'general', action: 2 } }),
      theirFrame({
        channel: 3,
        ref: 'o',
        ot: { version: 4, op: [{ skip: 2 }, { insert: 'é🙂' }], crc32: 7 },
      }),
      theirFrame({ channel: 5, ref: 'x', exec: { args: ['echo', 'hi'], env: { A: '1' } } }),
      theirFrame({ channel: 2, ref: 'q', write: { path: 'a.txt', content: Buffer.from('hi') } }),
    );
    fc.assert(
      fc.property(valid, fc.nat(), fc.nat(255), fc.boolean(), (frame, at, byte, cut) => {
        const changed = cut ? frame.slice(0, at % frame.length) : frame.slice();
        if (!cut) changed[at % frame.length] = byte;
        const decoded = wire.decode(changed);
        if (!decoded.ok) expect(decoded.error.code).toBe('BAD_MESSAGE');
      }),
      { numRuns: 2000 },
    );
  });

  test('text frames are UNSUPPORTED_FRAME', () => {
    fc.assert(
      fc.property(fc.string(), (frame) => {
        expect(wire.decode(frame)).toEqual({
          ok: false,
          error: { code: 'UNSUPPORTED_FRAME', message: 'text frame on the goval wire' },
        });
      }),
    );
  });
});

describe('what @replit/protocol encodes, we decode exactly', () => {
  test('openChan', () => {
    fc.assert(
      fc.property(
        ref,
        fc.string({ minLength: 1, maxLength: 20 }),
        text,
        fc.constantFrom(0, 1, 2),
        (id, service, name, action) => {
          expect(wire.decode(theirFrame({ ref: id, openChan: { service, name, action } }))).toEqual({
            ok: true,
            message: {
              type: 'open',
              id: `0/${id}`,
              service,
              ...(name === '' ? {} : { name }),
              action: (['create', 'attach', 'attachOrCreate'] as const)[action],
            },
          });
        },
      ),
    );
  });

  test('closeChan', () => {
    fc.assert(
      fc.property(ref, channel, fc.constantFrom(0, 1, 2), (id, target, action) => {
        expect(wire.decode(theirFrame({ ref: id, closeChan: { id: target, action } }))).toEqual({
          ok: true,
          message: {
            type: 'closeChannel',
            id: `0/${id}`,
            channel: target,
            action: (['disconnect', 'tryClose', 'close'] as const)[action],
          },
        });
      }),
    );
  });

  test('ot packets, with their ops in order', () => {
    fc.assert(
      fc.property(
        ref,
        channel,
        uint32,
        fc.array(op, { maxLength: 8 }),
        uint32,
        (id, on, version, ops, crc32) => {
          expect(wire.decode(theirFrame({ channel: on, ref: id, ot: { version, op: ops, crc32 } }))).toEqual({
            ok: true,
            message: {
              type: 'call',
              id: `${on}/${id}`,
              command: 'apply',
              input: { version, ops, ...(crc32 === 0 ? {} : { crc32 }) },
              channel: on,
            },
          });
        },
      ),
    );
  });

  test('chat messages', () => {
    fc.assert(
      fc.property(ref, channel, text, (id, on, message) => {
        expect(
          wire.decode(theirFrame({ channel: on, ref: id, chatMessage: { username: 'u', text: message } })),
        ).toEqual({
          ok: true,
          message: {
            type: 'call',
            id: `${on}/${id}`,
            command: 'send',
            input: { text: message },
            channel: on,
          },
        });
      }),
    );
  });
});

describe('what we encode, @replit/protocol decodes exactly', () => {
  test('opened', () => {
    fc.assert(
      fc.property(
        ref,
        channel,
        fc.integer({ min: 2, max: 0x7fff_ffff }),
        fc.boolean(),
        (id, on, session, created) => {
          const frame = wire.encode({
            type: 'opened',
            id: `0/${id}`,
            channel: on,
            session,
            state: created ? 'created' : 'attached',
          });
          expect(theirs(frame)).toEqual({
            session,
            openChanRes: created ? { id: on } : { id: on, state: 1 },
            ref: id,
          });
        },
      ),
    );
  });

  test('ot events, and our own codec reads the same ops back', () => {
    fc.assert(
      fc.property(
        channel,
        fc.integer({ min: -0x7fff_ffff, max: 0x7fff_ffff }),
        fc.array(op, { maxLength: 8 }),
        uint32,
        uint32,
        (on, session, ops, version, crc32) => {
          const frame = wire.encode({
            type: 'event',
            event: 'ot.ot',
            payload: { version, ops, crc32 },
            channel: on,
            session,
          });
          const fields = theirs(frame);
          expect(fields.ot).toEqual({
            ...(ops.length === 0 ? {} : { op: ops }),
            ...(crc32 === 0 ? {} : { crc32 }),
            ...(version === 0 ? {} : { version }),
          });
          const ours = decodeCommand(frame as Uint8Array);
          if (!ours.ok || ours.command.body.case !== 'ot') throw new Error('not an ot packet');
          expect(opsFromGoval(ours.command.body.value.ops)).toEqual(ops);
          expect(ours.command.session).toBe(session);
        },
      ),
    );
  });

  test('file reads, with any bytes as content', () => {
    fc.assert(
      fc.property(ref, channel, text, fc.uint8Array({ maxLength: 200 }), (id, on, path, content) => {
        const frame = wire.encode({
          type: 'result',
          id: `${on}/${id}`,
          command: 'files.read',
          output: { path, content: Buffer.from(content).toString('base64') },
          channel: on,
        } as never);
        const decoded = decodeCommand(frame as Uint8Array);
        if (!decoded.ok || decoded.command.body.case !== 'file') throw new Error('not a file');
        expect(decoded.command.body.value.content).toEqual(content);
        expect(decoded.command.body.value.path).toBe(path);
        expect(theirs(frame).ref).toBe(id);
      }),
    );
  });
});
