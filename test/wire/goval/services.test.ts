import { describe, expect, test } from 'vitest';
import { govalWire } from '../../../src/wire/goval/index.js';
import { expectGolden, theirFrame } from './interop.js';

const wire = govalWire();
/** A decoded call: its id names the channel and the ref. */
const call = (ref: string, command: string, input: unknown, channel: number) => ({
  ok: true,
  message: { type: 'call', id: `${channel}/${ref}`, command, input, channel },
});
const alice = { id: 7, name: 'alice', roles: ['admin'], session: 2 };

describe('files', () => {
  test('requests become calls of the files service on the same channel, the ref as call id', () => {
    expect(wire.decode(theirFrame({ channel: 2, ref: 'q1', read: { path: 'src/a.txt' } }))).toEqual(
      call('q1', 'read', { path: 'src/a.txt' }, 2),
    );
    expect(
      wire.decode(
        theirFrame({ channel: 2, ref: 'q2', write: { path: 'a.txt', content: Buffer.from('hi\n') } }),
      ),
    ).toEqual(call('q2', 'write', { path: 'a.txt', content: 'aGkK' }, 2));
    expect(wire.decode(theirFrame({ channel: 2, ref: 'q3', remove: { path: 'a.txt' } }))).toEqual(
      call('q3', 'remove', { path: 'a.txt' }, 2),
    );
    expect(wire.decode(theirFrame({ channel: 2, ref: 'q4', mkdir: { path: 'a/b' } }))).toEqual(
      call('q4', 'mkdir', { path: 'a/b' }, 2),
    );
    expect(wire.decode(theirFrame({ channel: 2, ref: 'q5', readdir: { path: '.' } }))).toEqual(
      call('q5', 'readdir', { path: '.' }, 2),
    );
    expect(wire.decode(theirFrame({ channel: 2, ref: 'q6', stat: { path: 'a.txt' } }))).toEqual(
      call('q6', 'stat', { path: 'a.txt' }, 2),
    );
    expect(
      wire.decode(theirFrame({ channel: 2, ref: 'q7', move: { oldPath: 'a.txt', newPath: 'b.txt' } })),
    ).toEqual(call('q7', 'move', { oldPath: 'a.txt', newPath: 'b.txt' }, 2));
    expect(
      wire.decode(
        theirFrame({ channel: 2, ref: 'q8', subscribeFile: { files: [{ path: 'a' }, { path: 'b' }] } }),
      ),
    ).toEqual(call('q8', 'subscribe', { paths: ['a', 'b'] }, 2));
  });

  test('read is answered by file, with the contents as bytes', () => {
    const frame = wire.encode({
      type: 'result',
      id: 'q1',
      command: 'files.read',
      output: { path: 'src/a.txt', content: 'aGkK' },
      channel: 2,
    } as never);
    expectGolden(
      frame,
      { channel: 2, file: { path: 'src/a.txt', content: Buffer.from('hi\n') }, ref: 'q1' },
      { channel: 2, file: { path: 'src/a.txt', content: 'aGkK' }, ref: 'q1' },
      expect,
    );
  });

  test('readdir is answered by files, stat by statRes, the others by ok; all with the ref', () => {
    const enc = (command: string, output: unknown) =>
      wire.encode({ type: 'result', id: 'q', command: `files.${command}`, output, channel: 2 } as never);
    expectGolden(
      enc('readdir', {
        files: [
          { path: 'a.txt', type: 'file' },
          { path: 'src', type: 'directory' },
        ],
      }),
      { channel: 2, files: { files: [{ path: 'a.txt' }, { path: 'src', type: 1 }] }, ref: 'q' },
      { channel: 2, files: { files: [{ path: 'a.txt' }, { path: 'src', type: 1 }] }, ref: 'q' },
      expect,
    );
    expectGolden(
      enc('stat', { exists: true, type: 'directory', size: 4096, fileMode: '0755', modTime: 1_700_000_000 }),
      {
        channel: 2,
        statRes: { exists: true, type: 1, size: 4096, fileMode: '0755', modTime: 1_700_000_000 },
        ref: 'q',
      },
      {
        channel: 2,
        statRes: { exists: true, type: 1, size: 4096, fileMode: '0755', modTime: 1_700_000_000 },
        ref: 'q',
      },
      expect,
    );
    expectGolden(
      enc('stat', { exists: false }),
      { channel: 2, statRes: {}, ref: 'q' },
      { channel: 2, statRes: {}, ref: 'q' },
      expect,
    );
    for (const command of ['write', 'remove', 'mkdir', 'move', 'subscribe']) {
      expectGolden(
        enc(command, null),
        { channel: 2, ok: {}, ref: 'q' },
        { channel: 2, ok: {}, ref: 'q' },
        expect,
      );
    }
  });

  test("a request error is an error body with the ref, on the call's channel", () => {
    const frame = wire.encode({
      type: 'error',
      id: 'q9',
      code: 'PATH_OUTSIDE_ROOT',
      message: 'path "../etc/passwd" is outside the root',
      command: 'files.read',
      channel: 2,
    } as never);
    expectGolden(
      frame,
      { channel: 2, error: 'path "../etc/passwd" is outside the root', ref: 'q9' },
      { channel: 2, error: 'path "../etc/passwd" is outside the root', ref: 'q9' },
      expect,
    );
  });

  test('fileEvent goes to the subscribed session, with dest on moves', () => {
    const frame = wire.encode({
      type: 'event',
      event: 'files.fileEvent',
      payload: { op: 'move', file: { path: 'a.txt', type: 'file' }, dest: { path: 'b.txt', type: 'file' } },
      channel: 2,
      session: 3,
    });
    expectGolden(
      frame,
      { channel: 2, session: 3, fileEvent: { file: { path: 'a.txt' }, op: 1, dest: { path: 'b.txt' } } },
      { channel: 2, session: 3, fileEvent: { file: { path: 'a.txt' }, op: 1, dest: { path: 'b.txt' } } },
      expect,
    );
    const modify = wire.encode({
      type: 'event',
      event: 'files.fileEvent',
      payload: { op: 'modify', file: { path: 'src', type: 'directory' } },
      channel: 4,
    });
    expectGolden(
      modify,
      { channel: 4, fileEvent: { file: { path: 'src', type: 1 }, op: 3 } },
      { channel: 4, fileEvent: { file: { path: 'src', type: 1 }, op: 3 } },
      expect,
    );
  });
});

describe('chat', () => {
  test('chatMessage, chatTyping and chatScrollback become send, typing and scrollback; username is not taken', () => {
    expect(
      wire.decode(theirFrame({ channel: 1, ref: 'm', chatMessage: { username: 'mallory', text: 'hi' } })),
    ).toEqual(call('m', 'send', { text: 'hi' }, 1));
    expect(
      wire.decode(theirFrame({ channel: 1, ref: 't', chatTyping: { username: 'x', typing: true } })),
    ).toEqual(call('t', 'typing', { typing: true }, 1));
    expect(wire.decode(theirFrame({ channel: 1, ref: 's', chatScrollback: {} }))).toEqual(
      call('s', 'scrollback', {}, 1),
    );
  });

  test('send and typing are answered by ok with the ref; sent without a ref, they get no answer', () => {
    const ok = wire.encode({
      type: 'result',
      id: 'm',
      command: 'chat.send',
      output: null,
      channel: 1,
    } as never);
    expectGolden(ok, { channel: 1, ok: {}, ref: 'm' }, { channel: 1, ok: {}, ref: 'm' }, expect);
    expect(
      wire.encode({ type: 'result', id: 12, command: 'chat.send', output: null, channel: 1 } as never),
    ).toBeNull();
    expect(
      wire.encode({ type: 'result', id: 13, command: 'chat.typing', output: null, channel: 1 } as never),
    ).toBeNull();
  });

  test('scrollback is answered by chatScrollback', () => {
    const frame = wire.encode({
      type: 'result',
      id: 's',
      command: 'chat.scrollback',
      output: { messages: [{ username: 'alice', text: 'hello' }] },
      channel: 1,
    } as never);
    const expected = {
      channel: 1,
      chatScrollback: { scrollback: [{ username: 'alice', text: 'hello' }] },
      ref: 's',
    };
    expectGolden(frame, expected, expected, expect);
  });

  test('events: message, typing, scrollback, roster, join, part, with the session rule', () => {
    const event = (event: string, payload: unknown, session?: number) =>
      wire.encode({
        type: 'event',
        event: `chat.${event}`,
        payload,
        channel: 1,
        ...(session === undefined ? {} : { session }),
      });
    const cases: [Uint8Array | string | null, Record<string, unknown>][] = [
      [
        event('message', { username: 'alice', text: 'hi' }, -2),
        { channel: 1, session: -2, chatMessage: { username: 'alice', text: 'hi' } },
      ],
      [
        event('typing', { username: 'alice', typing: true }, -2),
        { channel: 1, session: -2, chatTyping: { username: 'alice', typing: true } },
      ],
      [event('scrollback', { messages: [] }, 3), { channel: 1, session: 3, chatScrollback: {} }],
      [
        event('roster', { users: [alice, { id: 0, name: 'bob', roles: [], session: 3 }] }, 3),
        { channel: 1, session: 3, roster: { user: [alice, { name: 'bob', session: 3 }] } },
      ],
      [event('join', alice, -2), { channel: 1, session: -2, join: alice }],
      [event('part', alice), { channel: 1, part: alice }],
    ];
    for (const [frame, expected] of cases) expectGolden(frame, expected, expected, expect);
  });
});

describe('exec', () => {
  test('exec runs the run stream with args, env and blocking', () => {
    expect(
      wire.decode(
        theirFrame({ channel: 5, ref: 'x', exec: { args: ['echo', 'hi'], env: { A: '1' }, blocking: true } }),
      ),
    ).toEqual(call('x', 'run', { args: ['echo', 'hi'], env: { A: '1' }, blocking: true }, 5));
    expect(wire.decode(theirFrame({ channel: 5, ref: 'y', exec: { args: ['true'] } }))).toEqual(
      call('y', 'run', { args: ['true'] }, 5),
    );
  });

  test('output and stderr items go without the ref; the exit answers with it; the end is not sent', () => {
    const item = (item: unknown) =>
      wire.encode({ type: 'item', id: 'x', command: 'exec.run', item, channel: 5 } as never);
    expectGolden(
      item({ kind: 'output', data: 'hi\n' }),
      { channel: 5, output: 'hi\n' },
      { channel: 5, output: 'hi\n' },
      expect,
    );
    expectGolden(
      item({ kind: 'error', data: 'oops' }),
      { channel: 5, error: 'oops' },
      { channel: 5, error: 'oops' },
      expect,
    );
    expectGolden(
      item({ kind: 'exit', code: 0 }),
      { channel: 5, ok: {}, ref: 'x' },
      { channel: 5, ok: {}, ref: 'x' },
      expect,
    );
    expectGolden(
      item({ kind: 'exit', code: 2 }),
      { channel: 5, error: 'exit status 2', ref: 'x' },
      { channel: 5, error: 'exit status 2', ref: 'x' },
      expect,
    );
    expect(wire.encode({ type: 'end', id: 'x', command: 'exec.run', channel: 5 } as never)).toBeNull();
  });

  test('a refused exec is an error with the ref', () => {
    const frame = wire.encode({
      type: 'error',
      id: 'x',
      code: 'EXEC_DISABLED',
      message: 'exec is disabled on this server',
      command: 'exec.run',
      channel: 5,
    } as never);
    const expected = { channel: 5, error: 'exec is disabled on this server', ref: 'x' };
    expectGolden(frame, expected, expected, expect);
  });
});

describe('ot', () => {
  test('otLinkFile, ot, otFetchRequest, otNewCursor, otDeleteCursor and flush become ot calls', () => {
    expect(
      wire.decode(theirFrame({ channel: 3, ref: 'l', otLinkFile: { file: { path: 'a.txt' } } })),
    ).toEqual(call('l', 'link', { path: 'a.txt' }, 3));
    expect(wire.decode(theirFrame({ channel: 3, ref: 'l', otLinkFile: {} }))).toEqual(
      call('l', 'link', {}, 3),
    );
    expect(
      wire.decode(
        theirFrame({
          channel: 3,
          ref: 'o',
          ot: { version: 4, op: [{ skip: 2 }, { delete: 1 }, { insert: 'é🙂' }], crc32: 3_000_000_000 },
        }),
      ),
    ).toEqual(
      call(
        'o',
        'apply',
        { version: 4, ops: [{ skip: 2 }, { delete: 1 }, { insert: 'é🙂' }], crc32: 3_000_000_000 },
        3,
      ),
    );
    expect(
      wire.decode(theirFrame({ channel: 3, ref: 'o', ot: { version: 0, op: [{ insert: 'x' }] } })),
    ).toEqual(call('o', 'apply', { version: 0, ops: [{ insert: 'x' }] }, 3));
    expect(
      wire.decode(theirFrame({ channel: 3, ref: 'f', otFetchRequest: { versionFrom: 1, versionTo: 3 } })),
    ).toEqual(call('f', 'fetch', { versionFrom: 1, versionTo: 3 }, 3));
    expect(
      wire.decode(
        theirFrame({
          channel: 3,
          ref: 'c',
          otNewCursor: { position: 5, selectionStart: 2, selectionEnd: 5, id: 'cur1' },
        }),
      ),
    ).toEqual(call('c', 'cursor', { position: 5, selectionStart: 2, selectionEnd: 5, id: 'cur1' }, 3));
    expect(wire.decode(theirFrame({ channel: 3, ref: 'c', otNewCursor: { position: 1 } }))).toEqual(
      call('c', 'cursor', { position: 1, selectionStart: 0, selectionEnd: 0 }, 3),
    );
    expect(wire.decode(theirFrame({ channel: 3, ref: 'd', otDeleteCursor: { id: 'cur1' } }))).toEqual(
      call('d', 'deleteCursor', { id: 'cur1' }, 3),
    );
    expect(wire.decode(theirFrame({ channel: 3, ref: 'fl', flush: {} }))).toEqual(call('fl', 'flush', {}, 3));
  });

  test('link is answered by otstatus; apply by the packet as applied; fetch by otFetchResponse; cursors by ok', () => {
    const result = (command: string, output: unknown) =>
      wire.encode({ type: 'result', id: 'r', command: `ot.${command}`, output, channel: 3 } as never);
    const cursor = { id: 'cur1', position: 3, selectionStart: 1, selectionEnd: 3, user: alice };
    const status = { channel: 3, otstatus: { contents: 'héllo', version: 2, cursors: [cursor] }, ref: 'r' };
    expectGolden(
      result('link', { contents: 'héllo', version: 2, crc32: 1, cursors: [cursor] }),
      status,
      status,
      expect,
    );
    expectGolden(
      result('status', { contents: 'héllo', version: 2, crc32: 1, cursors: [cursor] }),
      status,
      status,
      expect,
    );
    const ops = [{ skip: 1 }, { delete: 2 }, { insert: 'ab' }];
    expectGolden(
      result('apply', { version: 3, ops, crc32: 4_000_000_000 }),
      { channel: 3, ot: { op: ops, crc32: 4_000_000_000, version: 3 }, ref: 'r' },
      { channel: 3, ot: { op: ops, crc32: 4_000_000_000, version: 3 }, ref: 'r' },
      expect,
    );
    const fetched = {
      channel: 3,
      otFetchResponse: { packets: [{ op: [{ insert: 'a' }], crc32: 3_904_355_907, version: 1 }] },
      ref: 'r',
    };
    expectGolden(
      result('fetch', { packets: [{ version: 1, ops: [{ insert: 'a' }], crc32: 3_904_355_907 }] }),
      fetched,
      fetched,
      expect,
    );
    for (const command of ['cursor', 'deleteCursor', 'flush']) {
      expectGolden(
        result(command, { id: 'cur1' }),
        { channel: 3, ok: {}, ref: 'r' },
        { channel: 3, ok: {}, ref: 'r' },
        expect,
      );
    }
  });

  test('events: ot to all but the sender, cursor and cursorDeleted', () => {
    const event = (event: string, payload: unknown, session: number) =>
      wire.encode({ type: 'event', event: `ot.${event}`, payload, channel: 3, session });
    const packet = {
      channel: 3,
      session: -2,
      ot: { op: [{ insert: 'x' }], crc32: 2_363_233_923, version: 1 },
    };
    expectGolden(
      event('ot', { version: 1, ops: [{ insert: 'x' }], crc32: 2_363_233_923 }, -2),
      packet,
      packet,
      expect,
    );
    const cursor = { id: 'cur1', position: 3, selectionStart: 1, selectionEnd: 3, user: alice };
    const moved = { channel: 3, session: -2, otNewCursor: cursor };
    expectGolden(event('cursor', cursor, -2), moved, moved, expect);
    const deleted = { channel: 3, session: -2, otDeleteCursor: { id: 'cur1' } };
    expectGolden(event('cursorDeleted', { id: 'cur1' }, -2), deleted, deleted, expect);
  });
});

describe('what has no goval form', () => {
  test('events of services without a mapping, and their stream items, are not sent', () => {
    expect(wire.encode({ type: 'event', event: 'todo.added', payload: {}, channel: 9 })).toBeNull();
    expect(
      wire.encode({ type: 'item', id: 'a', command: 'todo.watch', item: {}, channel: 9 } as never),
    ).toBeNull();
  });

  test('a result of a command without a mapping is ok; a stream without one ends with ok', () => {
    const ok = { channel: 9, ok: {}, ref: 'a' };
    expectGolden(
      wire.encode({ type: 'result', id: 'a', command: 'todo.add', output: { id: 1 }, channel: 9 } as never),
      ok,
      ok,
      expect,
    );
    expectGolden(
      wire.encode({ type: 'end', id: 'a', command: 'todo.watch', channel: 9 } as never),
      ok,
      ok,
      expect,
    );
  });

  test('an output outside the service contract throws a TypeError (the server reports INTERNAL)', () => {
    expect(() =>
      wire.encode({
        type: 'result',
        id: 'a',
        command: 'files.read',
        output: { path: 1 },
        channel: 2,
      } as never),
    ).toThrow(TypeError);
    expect(() =>
      wire.encode({ type: 'event', event: 'ot.ot', payload: { version: -1, ops: [], crc32: 0 }, channel: 2 }),
    ).toThrow('goval: ot.ot.version must be a uint32');
  });
});
