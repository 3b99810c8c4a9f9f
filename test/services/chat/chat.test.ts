import { afterEach, describe, expect, test } from 'vitest';
import { RequestError } from '../../../src/protocol/errors.js';
import { CHAT_DEFAULTS, type ChatOptions, chat, chatService } from '../../../src/services/chat/index.js';
import { TestClock } from '../../../src/testing/clock.js';
import { person, RecordingInstance } from './recording-instance.js';

const ada = person('Ada', 1, ['admin']);
const bob = person('Bob', 2);
const cy = person('Cy', 3);
const user = (name: string, id: number, session: number, roles: string[] = []) => ({
  id,
  name,
  roles,
  session,
});

function room(options: ChatOptions = {}, detaching?: 'unlisted' | 'listed') {
  return RecordingInstance.create(chatService, chat(options), detaching ? { detaching } : {});
}

/** The RequestError a call failed with. */
async function failure(call: Promise<unknown>): Promise<{ code: string; message: string; data: unknown }> {
  try {
    await call;
  } catch (error) {
    if (error instanceof RequestError) return { code: error.code, message: error.message, data: error.data };
    throw error;
  }
  throw new Error('the call succeeded');
}

let clock: TestClock | undefined;
afterEach(() => {
  clock?.uninstall();
  clock = undefined;
});

describe('attach and detach', () => {
  test('the new session gets scrollback then roster, the others get join', async () => {
    const general = await room();
    const a = await general.attach(ada);
    expect(general.take(a.id)).toEqual([
      { event: 'scrollback', payload: { messages: [] } },
      { event: 'roster', payload: { users: [user('Ada', 1, 2, ['admin'])] } },
    ]);
    await general.call(a.id, 'send', { text: 'first' });
    const b = await general.attach(bob);
    expect(general.take(b.id)).toEqual([
      { event: 'scrollback', payload: { messages: [{ username: 'Ada', text: 'first' }] } },
      { event: 'roster', payload: { users: [user('Ada', 1, 2, ['admin']), user('Bob', 2, 3)] } },
    ]);
    expect(general.take(a.id)).toEqual([{ event: 'join', payload: user('Bob', 2, 3) }]);
  });

  test.each(['unlisted', 'listed'] as const)(
    'the others get part when a session detaches, and the leaver gets nothing (session %s in detached)',
    async (detaching) => {
      const general = await room({}, detaching);
      const a = await general.attach(ada);
      const b = await general.attach(bob);
      const c = await general.attach(cy);
      for (const id of [a.id, b.id, c.id]) general.take(id);
      await general.detach(b.id);
      expect(general.take(a.id)).toEqual([{ event: 'part', payload: user('Bob', 2, 3) }]);
      expect(general.take(c.id)).toEqual([{ event: 'part', payload: user('Bob', 2, 3) }]);
      expect(general.take(b.id)).toEqual([]);
    },
  );

  test('one person in two tabs is two roster entries, one per session', async () => {
    const general = await room();
    await general.attach(ada);
    const tab = await general.attach(ada);
    expect(general.take(tab.id)[1]).toEqual({
      event: 'roster',
      payload: { users: [user('Ada', 1, 2, ['admin']), user('Ada', 1, 3, ['admin'])] },
    });
  });
});

describe('send', () => {
  test('goes to every session but the sender, answers null, and joins the scrollback', async () => {
    const general = await room();
    const [a, b, c] = [await general.attach(ada), await general.attach(bob), await general.attach(cy)];
    for (const id of [a.id, b.id, c.id]) general.take(id);
    expect(await general.call(b.id, 'send', { text: 'hi all' })).toBe(null);
    expect(general.take(a.id)).toEqual([{ event: 'message', payload: { username: 'Bob', text: 'hi all' } }]);
    expect(general.take(c.id)).toEqual([{ event: 'message', payload: { username: 'Bob', text: 'hi all' } }]);
    expect(general.take(b.id)).toEqual([]);
    expect(await general.call(c.id, 'scrollback', {})).toEqual({
      messages: [{ username: 'Bob', text: 'hi all' }],
    });
  });

  test('the scrollback keeps the newest `scrollback` messages, oldest first', async () => {
    const general = await room({ scrollback: 2 });
    const a = await general.attach(ada);
    for (const text of ['one', 'two', 'three']) await general.call(a.id, 'send', { text });
    const kept = [
      { username: 'Ada', text: 'two' },
      { username: 'Ada', text: 'three' },
    ];
    expect(await general.call(a.id, 'scrollback', {})).toEqual({ messages: kept });
    const b = await general.attach(bob);
    expect(general.take(b.id)[0]).toEqual({ event: 'scrollback', payload: { messages: kept } });
  });

  test('a scrollback of 0 remembers nothing but still delivers', async () => {
    const general = await room({ scrollback: 0 });
    const a = await general.attach(ada);
    const b = await general.attach(bob);
    general.take(b.id);
    await general.call(a.id, 'send', { text: 'gone' });
    expect(general.take(b.id)).toEqual([{ event: 'message', payload: { username: 'Ada', text: 'gone' } }]);
    expect(await general.call(a.id, 'scrollback', {})).toEqual({ messages: [] });
  });

  test('the default limit is 4096 code points: 4096 pass, 4097 get CHAT_MESSAGE_TOO_LONG', async () => {
    const general = await room();
    const a = await general.attach(ada);
    expect(await general.call(a.id, 'send', { text: 'a'.repeat(4096) })).toBe(null);
    expect(await failure(general.call(a.id, 'send', { text: 'a'.repeat(4097) }))).toEqual({
      code: 'CHAT_MESSAGE_TOO_LONG',
      message: 'message is 4097 code points, more than 4096',
      data: { length: 4097, max: 4096 },
    });
    expect(CHAT_DEFAULTS.maxMessageLength).toBe(4096);
  });

  test('length counts code points: five emoji fit a limit of 5, six do not, and a refusal sends nothing', async () => {
    const general = await room({ maxMessageLength: 5 });
    const a = await general.attach(ada);
    const b = await general.attach(bob);
    general.take(b.id);
    expect(await general.call(a.id, 'send', { text: '😀😀😀😀😀' })).toBe(null);
    expect(await failure(general.call(a.id, 'send', { text: '😀😀😀😀😀😀' }))).toEqual({
      code: 'CHAT_MESSAGE_TOO_LONG',
      message: 'message is 6 code points, more than 5',
      data: { length: 6, max: 5 },
    });
    expect(general.take(b.id)).toEqual([
      { event: 'message', payload: { username: 'Ada', text: '😀😀😀😀😀' } },
    ]);
    expect(await general.call(a.id, 'scrollback', {})).toEqual({
      messages: [{ username: 'Ada', text: '😀😀😀😀😀' }],
    });
  });

  test.each([
    ['an empty text', { text: '' }],
    ['a number', { text: 42 }],
    ['no text', {}],
  ])('%s is INVALID_INPUT', async (_what, input) => {
    const general = await room();
    const a = await general.attach(ada);
    expect((await failure(general.call(a.id, 'send', input))).code).toBe('INVALID_INPUT');
    expect(await general.call(a.id, 'scrollback', {})).toEqual({ messages: [] });
  });
});

describe('rooms', () => {
  test('each channel name is its own room: separate scrollback and roster', async () => {
    const implementation = chat();
    const general = await RecordingInstance.create(chatService, implementation, { name: 'general' });
    const random = await RecordingInstance.create(chatService, implementation, { name: 'random' });
    const a = await general.attach(ada);
    const b = await random.attach(bob);
    await general.call(a.id, 'send', { text: 'in general' });
    expect(await random.call(b.id, 'scrollback', {})).toEqual({ messages: [] });
    expect(general.take(a.id)[1]).toEqual({
      event: 'roster',
      payload: { users: [user('Ada', 1, 2, ['admin'])] },
    });
    expect(random.take(b.id)).toEqual([
      { event: 'scrollback', payload: { messages: [] } },
      { event: 'roster', payload: { users: [user('Bob', 2, 2)] } },
    ]);
  });
});

describe('typing', () => {
  test('typing true and false go to every session but the typist', async () => {
    const general = await room();
    const [a, b, c] = [await general.attach(ada), await general.attach(bob), await general.attach(cy)];
    for (const id of [a.id, b.id, c.id]) general.take(id);
    expect(await general.call(a.id, 'typing', { typing: true })).toBe(null);
    expect(general.state.typing).toEqual([a.id]);
    await general.call(a.id, 'typing', { typing: false });
    expect(general.state.typing).toEqual([]);
    const expected = [
      { event: 'typing', payload: { username: 'Ada', typing: true } },
      { event: 'typing', payload: { username: 'Ada', typing: false } },
    ];
    expect(general.take(b.id)).toEqual(expected);
    expect(general.take(c.id)).toEqual(expected);
    expect(general.take(a.id)).toEqual([]);
  });

  test('a typist who goes quiet is cleared after typingTimeoutMs, counted from the last typing: true', async () => {
    clock = TestClock.install();
    const general = await room({ typingTimeoutMs: 1000 });
    const a = await general.attach(ada);
    const b = await general.attach(bob);
    general.take(a.id);
    general.take(b.id);
    await general.call(a.id, 'typing', { typing: true });
    await clock.advance(600);
    await general.call(a.id, 'typing', { typing: true });
    await clock.advance(999);
    expect(general.take(b.id)).toEqual([
      { event: 'typing', payload: { username: 'Ada', typing: true } },
      { event: 'typing', payload: { username: 'Ada', typing: true } },
    ]);
    await clock.advance(1);
    expect(general.take(b.id)).toEqual([{ event: 'typing', payload: { username: 'Ada', typing: false } }]);
    expect(general.take(a.id)).toEqual([]);
    expect(general.state.typing).toEqual([]);
  });

  test('typing: false cancels the timeout', async () => {
    clock = TestClock.install();
    const general = await room({ typingTimeoutMs: 1000 });
    const a = await general.attach(ada);
    const b = await general.attach(bob);
    await general.call(a.id, 'typing', { typing: true });
    await general.call(a.id, 'typing', { typing: false });
    general.take(b.id);
    await clock.advance(5000);
    expect(general.take(b.id)).toEqual([]);
  });

  test('a session that detaches while typing: the others get typing false, then part', async () => {
    const general = await room();
    const a = await general.attach(ada);
    const b = await general.attach(bob);
    await general.call(a.id, 'typing', { typing: true });
    general.take(b.id);
    await general.detach(a.id);
    expect(general.take(b.id)).toEqual([
      { event: 'typing', payload: { username: 'Ada', typing: false } },
      { event: 'part', payload: user('Ada', 1, 2, ['admin']) },
    ]);
    expect(general.state.typing).toEqual([]);
  });

  test('disposing of a room cancels every typing timeout', async () => {
    clock = TestClock.install();
    const general = await room({ typingTimeoutMs: 1000 });
    const a = await general.attach(ada);
    const b = await general.attach(bob);
    await general.call(a.id, 'typing', { typing: true });
    general.take(b.id);
    await general.dispose();
    await clock.advance(2000);
    expect(general.take(b.id)).toEqual([]);
    expect(general.state.typing).toEqual([]);
  });
});

describe('options', () => {
  test.each([
    [{ scrollback: -1 }, 'chat: scrollback must be an integer from 0 to 9007199254740991, got -1'],
    [{ scrollback: 1.5 }, 'chat: scrollback must be an integer from 0 to 9007199254740991, got 1.5'],
    [{ maxMessageLength: 0 }, 'chat: maxMessageLength must be an integer from 1 to 9007199254740991, got 0'],
    [{ typingTimeoutMs: 0 }, 'chat: typingTimeoutMs must be an integer from 1 to 2147483647, got 0'],
    [
      { typingTimeoutMs: 2 ** 31 },
      'chat: typingTimeoutMs must be an integer from 1 to 2147483647, got 2147483648',
    ],
  ])('chat(%j) throws a TypeError', (options, message) => {
    expect(() => chat(options)).toThrow(new TypeError(message));
  });
});
