import { describe, expect, it } from 'vitest';
import { RequestError } from '../../../src/protocol/errors.js';
import { crc32, ot } from '../../../src/services/ot/index.js';
import { fakeInstance, person } from './fake-instance.js';

async function failure(promise: unknown): Promise<string> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(RequestError);
    return `${(error as RequestError).code}: ${(error as RequestError).message}`;
  }
  throw new Error('expected a request error');
}

const ada = person('ada', 'Ada', 7);
const bob = person('bob', 'Bob');

describe('ot service handlers', () => {
  it('links to the channel name’s document, empty at version 0', async () => {
    const { attach } = await fakeInstance(ot());
    const a = await attach(ada);
    expect(await a.link({})).toEqual({ contents: '', version: 0, crc32: 0, cursors: [] });
  });

  it('replies to the sender and sends the packet to every other session', async () => {
    const { attach } = await fakeInstance(ot());
    const a = await attach(ada);
    const b = await attach(bob);
    const c = await attach(bob);
    const packet = { version: 1, ops: [{ insert: 'hi 😀' }], crc32: crc32('hi 😀') };
    expect(await a.apply({ version: 0, ops: [{ insert: 'hi 😀' }] })).toEqual(packet);
    expect(a.take()).toEqual([]);
    expect(b.take()).toEqual([{ event: 'ot', payload: packet }]);
    expect(c.take()).toEqual([{ event: 'ot', payload: packet }]);
    expect(await b.status()).toEqual({ contents: 'hi 😀', version: 1, crc32: crc32('hi 😀'), cursors: [] });
  });

  it('transforms a stale packet and fetches the history', async () => {
    const { attach } = await fakeInstance(ot());
    const a = await attach(ada);
    const b = await attach(bob);
    await a.apply({ version: 0, ops: [{ insert: 'ab' }] });
    await a.apply({ version: 1, ops: [{ skip: 1 }, { insert: 'X' }] });
    expect(await b.apply({ version: 1, ops: [{ skip: 1 }, { insert: 'Y' }] })).toEqual({
      version: 3,
      ops: [{ skip: 2 }, { insert: 'Y' }],
      crc32: crc32('aXYb'),
    });
    expect(await b.fetch({ versionFrom: 2, versionTo: 3 })).toEqual({
      packets: [
        { version: 2, ops: [{ skip: 1 }, { insert: 'X' }], crc32: crc32('aXb') },
        { version: 3, ops: [{ skip: 2 }, { insert: 'Y' }], crc32: crc32('aXYb') },
      ],
    });
  });

  it('answers bad packets with the service’s error codes', async () => {
    const { attach } = await fakeInstance(ot({ maxHistory: 1 }));
    const a = await attach(ada);
    await a.apply({ version: 0, ops: [{ insert: 'abc' }] });
    await a.apply({ version: 1, ops: [{ insert: 'd' }] });
    expect(await failure(a.apply({ version: 3, ops: [{ insert: 'x' }] }))).toBe(
      'OT_VERSION_AHEAD: version 3 is ahead of the document (2)',
    );
    expect(await failure(a.apply({ version: 0, ops: [{ insert: 'x' }] }))).toBe(
      'OT_VERSION_TOO_OLD: version 0 is older than the kept history (from 1)',
    );
    expect(await failure(a.apply({ version: 2, ops: [{ delete: 5 }] }))).toBe(
      'OT_BAD_OPS: op 0: delete of 5 at 0 passes the end (length 4)',
    );
    expect(await failure(a.apply({ version: 2, ops: [] }))).toBe('OT_BAD_OPS: ops must not be empty');
    expect(await failure(a.apply({ version: 2, ops: [{ delete: 1 }], crc32: 1 }))).toBe(
      `OT_CRC_MISMATCH: the result's crc32 is ${crc32('abc')}, not 1`,
    );
    expect(await failure(a.fetch({ versionFrom: 1, versionTo: 2 }))).toBe(
      'OT_VERSION_TOO_OLD: version 1 is older than the kept history (from 2)',
    );
    expect((await a.status()).version).toBe(2);
  });

  it('places cursors, tells the others, and moves them with edits', async () => {
    const { attach } = await fakeInstance(ot());
    const a = await attach(ada);
    const b = await attach(bob);
    await a.apply({ version: 0, ops: [{ insert: 'hello world' }] });
    b.take();
    expect(await a.cursor({ position: 6, selectionStart: 6, selectionEnd: 11 })).toEqual({ id: '2.1' });
    const placed = {
      id: '2.1',
      position: 6,
      selectionStart: 6,
      selectionEnd: 11,
      user: { id: 7, name: 'Ada', roles: [], session: 2 },
    };
    expect(b.take()).toEqual([{ event: 'cursor', payload: placed }]);
    expect(a.take()).toEqual([]);
    await b.apply({ version: 1, ops: [{ insert: '😀 ' }] });
    expect((await b.status()).cursors).toEqual([
      { ...placed, position: 8, selectionStart: 8, selectionEnd: 13 },
    ]);
    // Moving it by id keeps the id; positions past the end land on the end.
    expect(await a.cursor({ id: '2.1', position: 99, selectionStart: 0, selectionEnd: 99 })).toEqual({
      id: '2.1',
    });
    expect(b.take()).toEqual([
      { event: 'cursor', payload: { ...placed, position: 13, selectionStart: 0, selectionEnd: 13 } },
    ]);
  });

  it('refuses to move or delete another session’s cursor', async () => {
    const { attach } = await fakeInstance(ot());
    const a = await attach(ada);
    const b = await attach(bob);
    const { id } = await a.cursor({ position: 0, selectionStart: 0, selectionEnd: 0 });
    expect(await failure(b.cursor({ id, position: 0, selectionStart: 0, selectionEnd: 0 }))).toBe(
      'OT_CURSOR_NOT_FOUND: cursor 2.1 belongs to another session',
    );
    expect(await failure(b.deleteCursor({ id }))).toBe('OT_CURSOR_NOT_FOUND: no cursor 2.1 in this session');
    expect(await failure(a.deleteCursor({ id: 'nope' }))).toBe(
      'OT_CURSOR_NOT_FOUND: no cursor nope in this session',
    );
  });

  it('limits the cursors one session holds', async () => {
    const { attach } = await fakeInstance(ot({ maxCursorsPerSession: 2 }));
    const a = await attach(ada);
    await a.cursor({ position: 0, selectionStart: 0, selectionEnd: 0 });
    await a.cursor({ position: 0, selectionStart: 0, selectionEnd: 0 });
    expect(await failure(a.cursor({ position: 0, selectionStart: 0, selectionEnd: 0 }))).toBe(
      'OT_TOO_MANY_CURSORS: a session holds at most 2 cursors',
    );
  });

  it('deletes a cursor and removes a session’s cursors when it detaches', async () => {
    const { attach } = await fakeInstance(ot());
    const a = await attach(ada);
    const b = await attach(bob);
    const first = await a.cursor({ position: 0, selectionStart: 0, selectionEnd: 0 });
    const second = await a.cursor({ id: 'mine', position: 0, selectionStart: 0, selectionEnd: 0 });
    await b.cursor({ position: 0, selectionStart: 0, selectionEnd: 0 });
    b.take();
    expect(await a.deleteCursor(first)).toBeNull();
    expect(b.take()).toEqual([{ event: 'cursorDeleted', payload: { id: '2.1' } }]);
    await a.detach();
    expect(b.take()).toEqual([{ event: 'cursorDeleted', payload: second }]);
    expect((await b.status()).cursors.map((c) => c.id)).toEqual(['3.2']);
  });

  it('links a path through the loader and saves edits through the saver, coalesced', async () => {
    const saved: string[] = [];
    let release = () => {};
    const { attach, state } = await fakeInstance(
      ot({
        load: (path) => `contents of ${path}`,
        save: async (path, contents) => {
          saved.push(`${path}: ${contents}`);
          // Hold the first save so the next edits pile up behind it.
          if (saved.length === 1) await new Promise<void>((resolve) => (release = resolve));
        },
      }),
    );
    const a = await attach(ada);
    expect(await a.link({ path: 'a.txt' })).toEqual({
      contents: 'contents of a.txt',
      path: 'a.txt',
      version: 0,
      crc32: crc32('contents of a.txt'),
      cursors: [],
    });
    await a.apply({ version: 0, ops: [{ insert: '1' }] });
    await a.apply({ version: 1, ops: [{ insert: '2' }] });
    await a.apply({ version: 2, ops: [{ insert: '3' }] });
    const flushed = a.flush();
    release();
    expect(await flushed).toBeNull();
    expect(state.saving).toBeUndefined();
    expect(saved).toEqual(['a.txt: 1contents of a.txt', 'a.txt: 321contents of a.txt']);
    // A second link to the same path gets the current status.
    expect((await a.link({ path: 'a.txt' })).version).toBe(3);
  });

  it('refuses to link without a loader, to a second path, or after edits', async () => {
    const plain = await fakeInstance(ot());
    const p = await plain.attach(ada);
    expect(await failure(p.link({ path: 'a.txt' }))).toBe('OT_LINK_REFUSED: this server links no files');
    const loading = await fakeInstance(ot({ load: () => 'x' }));
    const l = await loading.attach(ada);
    await l.link({ path: 'a.txt' });
    expect(await failure(l.link({ path: 'b.txt' }))).toBe('OT_LINK_REFUSED: the document is linked to a.txt');
    const edited = await fakeInstance(ot({ load: () => 'x' }));
    const e = await edited.attach(ada);
    await e.apply({ version: 0, ops: [{ insert: 'typed' }] });
    expect(await failure(e.link({ path: 'a.txt' }))).toBe(
      'OT_LINK_REFUSED: the document has 1 edits already',
    );
  });

  it('lets a failed load be retried and keeps edits waiting for a load in progress', async () => {
    let attempt = 0;
    let finish = (_text: string) => {};
    const { attach } = await fakeInstance(
      ot({
        load: () => {
          attempt++;
          if (attempt === 1) throw new RequestError('OT_LINK_REFUSED', 'disk unplugged');
          return new Promise<string>((resolve) => (finish = resolve));
        },
      }),
    );
    const a = await attach(ada);
    expect(await failure(a.link({ path: 'a.txt' }))).toBe('OT_LINK_REFUSED: disk unplugged');
    const linked = a.link({ path: 'a.txt' });
    const applied = a.apply({ version: 0, ops: [{ insert: '> ' }] });
    finish('loaded');
    expect((await linked).contents).toBe('loaded');
    expect(await applied).toEqual({ version: 1, ops: [{ insert: '> ' }], crc32: crc32('> loaded') });
  });

  it('lets edits waiting for a load that fails go on with the unlinked document', async () => {
    let fail = (_error: Error) => {};
    const { attach } = await fakeInstance(
      ot({ load: () => new Promise<string>((_resolve, reject) => (fail = reject)) }),
    );
    const a = await attach(ada);
    const linked = failure(a.link({ path: 'a.txt' }));
    const applied = a.apply({ version: 0, ops: [{ insert: 'typed' }] });
    fail(new RequestError('OT_LINK_REFUSED', 'a.txt is unreadable'));
    expect(await linked).toBe('OT_LINK_REFUSED: a.txt is unreadable');
    expect(await applied).toEqual({ version: 1, ops: [{ insert: 'typed' }], crc32: crc32('typed') });
    expect(await a.status()).toEqual({ contents: 'typed', version: 1, crc32: crc32('typed'), cursors: [] });
  });
});
