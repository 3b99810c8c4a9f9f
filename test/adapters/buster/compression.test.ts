import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, test } from 'vitest';
import { GzipQueue } from '../../../src/adapters/buster/compression.js';

const large = (i: number) => `${i}:${'x'.repeat(2000)}`;

describe('GzipQueue', () => {
  test('a text up to syncMaxBytes is gzipped at once, without taking a slot', async () => {
    const queue = new GzipQueue(1, 1024);
    const pending = Array.from({ length: 10 }, (_, i) => queue.gzip(`small ${i}`));
    expect(queue.queued).toBe(0);
    const out = await Promise.all(pending);
    expect(out.map((bytes) => gunzipSync(bytes).toString())).toEqual(
      Array.from({ length: 10 }, (_, i) => `small ${i}`),
    );
  });

  test('larger texts run at most maxRunning at once on the thread pool; the rest wait in order', async () => {
    const queue = new GzipQueue(2, 1024);
    const pending = Array.from({ length: 5 }, (_, i) => queue.gzip(large(i)));
    expect(queue.queued).toBe(3);
    const out = await Promise.all(pending);
    expect(queue.queued).toBe(0);
    expect(out.map((bytes) => gunzipSync(bytes).toString())).toEqual([0, 1, 2, 3, 4].map(large));
  });

  test('gunzip reads small and large entries back, and rejects what is not gzip', async () => {
    const queue = new GzipQueue(1, 1024);
    expect((await queue.gunzip(gzipSync('small'))).toString()).toBe('small');
    // Small once compressed, large once inflated: read on the thread pool, not at once.
    const pending = [queue.gunzip(gzipSync(large(1))), queue.gunzip(gzipSync(large(2)))];
    expect(queue.queued).toBe(1);
    expect((await Promise.all(pending)).map(String)).toEqual([large(1), large(2)]);
    await expect(queue.gunzip(Uint8Array.of(1, 2, 3))).rejects.toThrow();
    expect(queue.queued).toBe(0);
  });
});
