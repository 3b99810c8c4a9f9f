import { describe, expect, test } from 'vitest';
import { StreamQueue } from '../../src/client/stream-queue.js';

/** A queue with a counter of its onReturn calls. */
function queue<T>() {
  const returns = { count: 0 };
  const q = new StreamQueue<T>(() => {
    returns.count++;
  });
  return { q, returns };
}

/** Whether `promise` has settled by the time already-queued callbacks have run. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(
    () => {
      done = true;
    },
    () => {
      done = true;
    },
  );
  await new Promise((resolve) => setImmediate(resolve));
  return done;
}

describe('StreamQueue', () => {
  test('is its own async iterator', () => {
    const { q } = queue<number>();
    expect(q[Symbol.asyncIterator]()).toBe(q);
  });

  test('hands out items pushed before next() in order', async () => {
    const { q } = queue<number>();
    q.push(1);
    q.push(2);
    q.push(3);
    expect(await q.next()).toEqual({ value: 1, done: false });
    expect(await q.next()).toEqual({ value: 2, done: false });
    expect(await q.next()).toEqual({ value: 3, done: false });
  });

  test('resolves a waiting next() with the next item pushed', async () => {
    const { q } = queue<string>();
    const first = q.next();
    expect(await settled(first)).toBe(false);
    q.push('a');
    q.push('b');
    expect(await first).toEqual({ value: 'a', done: false });
    expect(await q.next()).toEqual({ value: 'b', done: false });
  });

  test('ends after the items already pushed', async () => {
    const { q } = queue<number>();
    q.push(1);
    q.end();
    expect(await q.next()).toEqual({ value: 1, done: false });
    expect(await q.next()).toEqual({ value: undefined, done: true });
    expect(await q.next()).toEqual({ value: undefined, done: true });
  });

  test('end() resolves a waiting next() as done', async () => {
    const { q } = queue<number>();
    const waiting = q.next();
    q.end();
    expect(await waiting).toEqual({ value: undefined, done: true });
  });

  test('ignores pushes after end()', async () => {
    const { q } = queue<number>();
    q.end();
    q.push(1);
    expect(await q.next()).toEqual({ value: undefined, done: true });
  });

  test('fail() rejects a waiting next() with the error', async () => {
    const { q } = queue<number>();
    const waiting = q.next();
    const error = new Error('TIMEOUT');
    q.fail(error);
    await expect(waiting).rejects.toBe(error);
  });

  test('fail() delivers the items already pushed, then the error once, then done', async () => {
    const { q } = queue<number>();
    const error = new Error('DISCONNECTED');
    q.push(1);
    q.fail(error);
    q.push(2);
    expect(await q.next()).toEqual({ value: 1, done: false });
    await expect(q.next()).rejects.toBe(error);
    expect(await q.next()).toEqual({ value: undefined, done: true });
  });

  test('fail() without an error rejects with "stream failed"', async () => {
    const { q } = queue<number>();
    q.fail(undefined);
    await expect(q.next()).rejects.toThrow(new Error('stream failed'));
  });

  test('keeps the first of end() and fail()', async () => {
    const ended = queue<number>().q;
    ended.end();
    ended.fail(new Error('late'));
    expect(await ended.next()).toEqual({ value: undefined, done: true });

    const failed = queue<number>().q;
    const error = new Error('first');
    failed.fail(error);
    failed.end();
    await expect(failed.next()).rejects.toBe(error);
  });

  test('return() calls onReturn once, drops buffered items and ends the iteration', async () => {
    const { q, returns } = queue<number>();
    q.push(1);
    q.push(2);
    expect(await q.return()).toEqual({ value: undefined, done: true });
    expect(await q.return()).toEqual({ value: undefined, done: true });
    expect(returns.count).toBe(1);
    q.push(3);
    expect(await q.next()).toEqual({ value: undefined, done: true });
  });

  test('return() after the stream ended does not call onReturn: there is nothing to stop', async () => {
    const { q, returns } = queue<number>();
    q.end();
    expect(await q.return()).toEqual({ value: undefined, done: true });
    expect(returns.count).toBe(0);
  });

  test('leaving a for-await loop early calls onReturn once', async () => {
    const { q, returns } = queue<number>();
    for (const n of [1, 2, 3]) q.push(n);
    const seen: number[] = [];
    for await (const n of q) {
      seen.push(n);
      if (n === 2) break;
    }
    expect(seen).toEqual([1, 2]);
    expect(returns.count).toBe(1);
  });

  test('a for-await loop reads every item until end() without calling onReturn', async () => {
    const { q, returns } = queue<number>();
    const read = (async () => {
      const seen: number[] = [];
      for await (const n of q) seen.push(n);
      return seen;
    })();
    q.push(1);
    q.push(2);
    q.end();
    expect(await read).toEqual([1, 2]);
    expect(returns.count).toBe(0);
  });

  test('return() settles a next() that was already waiting, as done', async () => {
    const { q } = queue<number>();
    const waiting = q.next();
    await q.return();
    expect(await settled(waiting)).toBe(true);
    expect(await waiting).toEqual({ value: undefined, done: true });
  });
});
