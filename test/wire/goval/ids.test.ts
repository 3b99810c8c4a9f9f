import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { addressOf, callIdOf } from '../../../src/wire/goval/ids.js';
import { govalWire } from '../../../src/wire/goval/index.js';
import { expectGolden, theirFrame } from './interop.js';

describe('call ids name the channel and the ref', () => {
  test('any int32 channel, negative ones included, and any ref come back from the id exactly', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -0x8000_0000, max: 0x7fff_ffff }),
        fc.string({ minLength: 1 }),
        (channel, ref) => {
          expect(addressOf(callIdOf(channel, ref, () => 1))).toEqual({ channel, ref });
        },
      ),
    );
  });

  test('a command without a ref gets a numbered id that names only its channel', () => {
    let n = 0;
    const id = callIdOf(4, '', () => ++n);
    expect(id).toBe('4#1');
    expect(addressOf(id)).toEqual({ channel: 4 });
  });

  test('ids this wire did not make: a string is a ref, a number has none', () => {
    expect(addressOf('abc')).toEqual({ ref: 'abc' });
    expect(addressOf(7)).toEqual({});
    expect(addressOf(undefined)).toEqual({});
  });
});

describe('replies find their channel from the call id alone', () => {
  const wire = govalWire();

  test('a reply without a channel field goes on the channel its call came on, with the ref', () => {
    const decoded = wire.decode(theirFrame({ channel: 6, ref: 'k1', mkdir: { path: 'a' } }));
    if (!decoded.ok || decoded.message.type !== 'call') throw new Error('expected a call');
    const ok = { channel: 6, ok: {}, ref: 'k1' };
    expectGolden(
      wire.encode({ type: 'result', id: decoded.message.id, command: 'files.mkdir', output: null }),
      ok,
      ok,
      expect,
    );
    const error = { channel: 6, error: 'already exists', ref: 'k1' };
    expectGolden(
      wire.encode({
        type: 'error',
        id: decoded.message.id,
        code: 'ALREADY_EXISTS',
        message: 'already exists',
        command: 'files.mkdir',
      }),
      error,
      error,
      expect,
    );
  });

  test('exec output of a call sent without a ref goes on its channel, and its answer has no ref', () => {
    const decoded = wire.decode(theirFrame({ channel: 3, exec: { args: ['ls'] } }));
    if (!decoded.ok || decoded.message.type !== 'call') throw new Error('expected a call');
    const { id } = decoded.message;
    const output = { channel: 3, output: 'a\n' };
    expectGolden(
      wire.encode({ type: 'item', id, command: 'exec.run', item: { kind: 'output', data: 'a\n' } }),
      output,
      output,
      expect,
    );
    expect(
      wire.encode({ type: 'item', id, command: 'exec.run', item: { kind: 'exit', code: 0 } }),
    ).toBeNull();
    const failed = { channel: 3, error: 'exit status 1' };
    expectGolden(
      wire.encode({ type: 'item', id, command: 'exec.run', item: { kind: 'exit', code: 1 } }),
      failed,
      failed,
      expect,
    );
  });

  test('an open refused by the server is openChanRes ERROR with the ref', () => {
    const decoded = wire.decode(theirFrame({ ref: 'z9', openChan: { service: 'nope', action: 2 } }));
    if (!decoded.ok || decoded.message.type !== 'open') throw new Error('expected an open');
    const refused = { openChanRes: { state: 2, error: 'no service "nope"' }, ref: 'z9' };
    expectGolden(
      wire.encode({
        type: 'error',
        id: decoded.message.id,
        code: 'UNKNOWN_SERVICE',
        message: 'no service "nope"',
        command: 'nope.$open',
      }),
      refused,
      refused,
      expect,
    );
  });
});

describe('refusals find their channel too', () => {
  test('BAD_MESSAGE for an unsupported body is answered on its channel with its ref', () => {
    const wire = govalWire();
    const decoded = wire.decode(theirFrame({ channel: 4, ref: 'u1', runMain: {} }));
    if (decoded.ok) throw new Error('expected a refusal');
    // What the server sends for a WireError: an error with the same id.
    const answer = wire.encode({
      type: 'error',
      id: decoded.error.id,
      code: 'BAD_MESSAGE',
      message: decoded.error.message,
    });
    const expected = { channel: 4, error: '"runMain" is not supported by this server', ref: 'u1' };
    expectGolden(answer, expected, expected, expect);
  });
});
