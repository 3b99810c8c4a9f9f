import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, test } from 'vitest';
import { type StreamBus, StreamBusError } from '../../../src/adapters/buster/index.js';

const text = (bytes: Uint8Array | undefined) => (bytes ? new TextDecoder().decode(bytes) : undefined);

/** What both buses must do alike: the Redis semantics Buster relies on. */
export function streamBusConformance(name: string, make: () => StreamBus): void {
  describe(`${name} stream bus`, () => {
    const bus = make();
    afterAll(() => bus.close());
    const fresh = () => `test:${randomUUID()}`;

    test('a group made with $ sees only entries added after it, each once', async () => {
      const stream = fresh();
      await bus.add(stream, { data: 'before' }, 50);
      expect(await bus.createGroup(stream, 'g')).toBe(true);
      await bus.add(stream, { data: 'after' }, 50);
      const reader = bus.reader();
      const entries = await reader.read('g', 'c', [stream], 250, 5);
      expect(entries.map((entry) => [entry.stream, text(entry.fields.get('data'))])).toEqual([
        [stream, 'after'],
      ]);
      expect(await reader.read('g', 'c', [stream], 250, 5)).toEqual([]);
      reader.close();
    });

    test('creating an existing group answers false', async () => {
      const stream = fresh();
      expect(await bus.createGroup(stream, 'g')).toBe(true);
      expect(await bus.createGroup(stream, 'g')).toBe(false);
      expect(await bus.groupCount(stream)).toBe(1);
    });

    test('two groups each read every entry', async () => {
      const stream = fresh();
      await bus.createGroup(stream, 'a');
      await bus.createGroup(stream, 'b');
      await bus.add(stream, { data: Uint8Array.of(1, 2, 3) }, 50);
      const reader = bus.reader();
      for (const group of ['a', 'b']) {
        const [entry] = await reader.read(group, 'c', [stream], 250, 5);
        expect([...(entry?.fields.get('data') ?? [])]).toEqual([1, 2, 3]);
      }
      reader.close();
    });

    test('COUNT applies per stream', async () => {
      const one = fresh();
      const two = fresh();
      await bus.createGroup(one, 'g');
      await bus.createGroup(two, 'g');
      for (let i = 0; i < 3; i++) {
        await bus.add(one, { data: `1.${i}` }, 50);
        await bus.add(two, { data: `2.${i}` }, 50);
      }
      const reader = bus.reader();
      const entries = await reader.read('g', 'c', [one, two], 2, 5);
      expect(entries.map((entry) => text(entry.fields.get('data')))).toEqual(['1.0', '1.1', '2.0', '2.1']);
      reader.close();
    });

    test('a blocked read wakes up on an add', async () => {
      const stream = fresh();
      await bus.createGroup(stream, 'g');
      const reader = bus.reader();
      const started = Date.now();
      const pending = reader.read('g', 'c', [stream], 250, 5000);
      setTimeout(() => void bus.add(stream, { data: 'late' }, 50), 30);
      const entries = await pending;
      expect(entries.map((entry) => text(entry.fields.get('data')))).toEqual(['late']);
      expect(Date.now() - started).toBeLessThan(4000);
      reader.close();
    });

    test('an empty read returns [] after BLOCK', async () => {
      const stream = fresh();
      await bus.createGroup(stream, 'g');
      const reader = bus.reader();
      expect(await reader.read('g', 'c', [stream], 250, 20)).toEqual([]);
      reader.close();
    });

    test('reading a missing group fails with NOGROUP', async () => {
      const stream = fresh();
      const reader = bus.reader();
      await expect(reader.read('g', 'c', [stream], 250, 5)).rejects.toMatchObject({ code: 'NOGROUP' });
      reader.close();
    });

    test('closing a reader ends its blocked read with CLOSED', async () => {
      const stream = fresh();
      await bus.createGroup(stream, 'g');
      const reader = bus.reader();
      const pending = reader.read('g', 'c', [stream], 250, 10_000);
      setTimeout(() => reader.close(), 20);
      const error = await pending.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(StreamBusError);
      expect((error as StreamBusError).code).toBe('CLOSED');
    });

    test('MAXLEN ~ 50 keeps at least the last 50 and trims older ones', async () => {
      const stream = fresh();
      await bus.createGroup(stream, 'g');
      for (let i = 0; i < 250; i++) await bus.add(stream, { data: String(i) }, 50);
      const reader = bus.reader();
      const entries = await reader.read('g', 'c', [stream], 1000, 5);
      const values = entries.map((entry) => Number(text(entry.fields.get('data'))));
      // Redis trims whole nodes of 100 entries, so `~` may keep up to 50 + 99.
      expect(values.length).toBeGreaterThanOrEqual(50);
      expect(values.length).toBeLessThan(150);
      expect(values.at(-1)).toBe(249);
      expect(values).toEqual(Array.from({ length: values.length }, (_, i) => 250 - values.length + i));
      reader.close();
    });

    test('destroying the last group, trimming and deleting leave nothing', async () => {
      const stream = fresh();
      await bus.createGroup(stream, 'g');
      await bus.add(stream, { data: 'x' }, 50);
      await bus.destroyGroup(stream, 'g');
      expect(await bus.groupCount(stream)).toBe(0);
      await bus.trim(stream);
      await bus.del(stream);
      expect(await bus.groupCount(stream)).toBe(0);
      // Destroying again, on a stream that is gone, is not an error.
      await bus.destroyGroup(stream, 'g');
    });

    test('key-value helpers: set with a TTL, get, delete', async () => {
      const key = fresh();
      expect(await bus.get(key)).toBeNull();
      await bus.set(key, 'v', 3600);
      expect(await bus.get(key)).toBe('v');
      await bus.del(key);
      expect(await bus.get(key)).toBeNull();
    });
  });
}
