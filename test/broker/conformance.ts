import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, test } from 'vitest';
import type { Broker, BrokerGap, PresenceChange, Publication } from '../../src/broker/broker.js';

export interface ConformanceTarget {
  /** A fresh broker with `historySize` kept per key. */
  make(historySize?: number): Promise<Broker>;
  /** A second broker on the same backend (another node), when the implementation has one. */
  peer?(): Promise<Broker>;
  /** Makes the backend forget one key's history, as a restart without persistence would. */
  loseHistory?(broker: Broker, key: string): Promise<void>;
}

/** Waits until `list` has `count` entries; fails after 5 s. */
async function until<T>(list: T[], count: number): Promise<void> {
  const deadline = Date.now() + 5000;
  while (list.length < count) {
    if (Date.now() > deadline) throw new Error(`only ${list.length} of ${count}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** The behaviour every Broker must have; run once per implementation. */
export function brokerConformance(name: string, target: ConformanceTarget): void {
  describe(`${name} broker conformance`, () => {
    const open: Broker[] = [];
    const make = async (historySize?: number) => {
      const broker = await target.make(historySize);
      open.push(broker);
      return broker;
    };
    afterEach(async () => {
      for (const broker of open.splice(0)) await broker.close();
    });
    const key = () => `test.${randomUUID()}`;

    test('numbers publications 1, 2, 3… per key within one epoch', async () => {
      const broker = await make();
      const [a, b] = [key(), key()];
      const first = await broker.publish(a, { n: 1 });
      const second = await broker.publish(a, { n: 2 });
      const other = await broker.publish(b, 'x');
      expect([first.offset, second.offset, other.offset]).toEqual([1, 2, 1]);
      expect(second.epoch).toBe(first.epoch);
      expect([first.key, first.payload]).toEqual([a, { n: 1 }]);
    });

    test('gives concurrent publishes distinct, contiguous offsets', async () => {
      const broker = await make();
      const k = key();
      const published = await Promise.all(Array.from({ length: 50 }, (_, i) => broker.publish(k, i)));
      expect(published.map((p) => p.offset).sort((x, y) => x - y)).toEqual(
        Array.from({ length: 50 }, (_, i) => i + 1),
      );
    });

    test('delivers to listeners in offset order, each once, until they stop', async () => {
      const broker = await make();
      const k = key();
      const seen: Publication[] = [];
      const stop = await broker.subscribe(k, (p) => seen.push(p));
      await Promise.all(Array.from({ length: 30 }, (_, i) => broker.publish(k, i)));
      await until(seen, 30);
      expect(seen.map((p) => p.offset)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
      await stop();
      await broker.publish(k, 'after');
      await broker.publish(k, 'flush');
      const other: Publication[] = [];
      const stopOther = await broker.subscribe(k, (p) => other.push(p));
      await broker.publish(k, 'seen');
      await until(other, 1);
      await stopOther();
      expect(seen).toHaveLength(30);
      expect(other.map((p) => p.payload)).toEqual(['seen']);
    });

    test('answers history by offset, by last N, and with bounds only', async () => {
      const broker = await make();
      const k = key();
      const empty = await broker.history(k, {});
      expect([empty.top, empty.first, empty.publications]).toEqual([0, 1, []]);
      for (let i = 1; i <= 5; i++) await broker.publish(k, { i });
      const after = await broker.history(k, { after: 3 });
      expect(after.publications.map((p) => [p.offset, p.payload])).toEqual([
        [4, { i: 4 }],
        [5, { i: 5 }],
      ]);
      expect([after.top, after.first, after.epoch]).toEqual([5, 1, empty.epoch]);
      expect((await broker.history(k, { last: 2 })).publications.map((p) => p.offset)).toEqual([4, 5]);
      expect((await broker.history(k, { last: 0 })).publications).toEqual([]);
      expect((await broker.history(k, {})).publications).toEqual([]);
    });

    test('keeps a bounded history', async () => {
      const broker = await make(10);
      const k = key();
      for (let i = 1; i <= 300; i++) await broker.publish(k, i);
      const history = await broker.history(k, { after: 0 });
      expect(history.top).toBe(300);
      // Redis trims approximately (MAXLEN ~): at least the bound is kept, and far less than all.
      expect(history.publications.length).toBeGreaterThanOrEqual(10);
      expect(history.publications.length).toBeLessThan(300);
      expect(history.first).toBe(history.publications[0]!.offset);
      expect(history.publications.at(-1)!.offset).toBe(300);
    });

    test('carries any JSON payload unchanged', async () => {
      const broker = await make();
      const k = key();
      const payloads = [null, 0, 'text ✓', [1, [2]], { nested: { deep: true } }];
      for (const payload of payloads) await broker.publish(k, payload);
      expect((await broker.history(k, { after: 0 })).publications.map((p) => p.payload)).toEqual(payloads);
    });

    test('tracks presence with join and leave events, and expires members that stop renewing', async () => {
      const broker = await make();
      const k = key();
      const changes: PresenceChange[] = [];
      const stop = await broker.onPresence(k, (change) => changes.push(change));
      await broker.join(k, { connectionId: 'c1', userId: 'ann' }, 60_000);
      await broker.join(k, { connectionId: 'c1', userId: 'ann' }, 60_000); // a renewal, not a second join
      await broker.join(k, { connectionId: 'c2', userId: 'bob', info: { tab: 2 } }, 30);
      expect((await broker.members(k)).map((m) => m.connectionId).sort()).toEqual(['c1', 'c2']);
      await broker.leave(k, 'c1');
      await new Promise((resolve) => setTimeout(resolve, 60));
      expect(await broker.members(k)).toEqual([]);
      await until(changes, 4);
      expect(changes.map((c) => `${c.type}:${c.member.connectionId}`)).toEqual([
        'join:c1',
        'join:c2',
        'leave:c1',
        'leave:c2',
      ]);
      expect(changes[1]!.member).toEqual({ connectionId: 'c2', userId: 'bob', info: { tab: 2 } });
      await stop();
    });

    if (target.loseHistory) {
      test('a live listener whose key loses its history gets one epoch gap, then the new epoch in order', async () => {
        const broker = await make();
        const k = key();
        const seen: (string | BrokerGap)[] = [];
        await broker.subscribe(k, (p) => seen.push(`${p.offset}:${p.payload}`), {
          onGap: (gap) => seen.push(gap),
        });
        await broker.publish(k, 'a');
        const old = await broker.publish(k, 'b');
        await until(seen, 2);
        await target.loseHistory!(broker, k);
        const fresh = await broker.publish(k, 'c');
        await broker.publish(k, 'd');
        await until(seen, 5);
        expect(fresh.epoch).not.toBe(old.epoch);
        expect(seen).toEqual([
          '1:a',
          '2:b',
          {
            reason: 'epoch',
            from: { epoch: old.epoch, offset: 2 },
            resumedAt: { epoch: fresh.epoch, offset: 0 },
          },
          '1:c',
          '2:d',
        ]);
      });
    }

    if (target.peer) {
      test('a publication on one node reaches listeners on another, with the same offsets', async () => {
        const a = await make();
        const b = await target.peer!();
        open.push(b);
        const k = key();
        const seen: Publication[] = [];
        await b.subscribe(k, (p) => seen.push(p));
        for (let i = 1; i <= 20; i++) await a.publish(k, i);
        await until(seen, 20);
        expect(seen.map((p) => [p.offset, p.payload])).toEqual(
          Array.from({ length: 20 }, (_, i) => [i + 1, i + 1]),
        );
        expect((await b.history(k, { last: 1 })).publications[0]?.payload).toBe(20);
      });

      // Kills "the publish made non-atomic" (offset taken apart from the append): two nodes are two
      // connections, so their publishes interleave on the backend, which one connection never does.
      test('200 concurrent publishes through two nodes all succeed, each offset 1..200 once, history gap-free', async () => {
        const a = await make();
        const b = await target.peer!();
        open.push(b);
        const k = key();
        const settled = await Promise.allSettled(
          Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? a : b).publish(k, i)),
        );
        const failures = settled.flatMap((s) => (s.status === 'rejected' ? [String(s.reason)] : []));
        expect(failures).toEqual([]);
        const published = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
        const all = Array.from({ length: 200 }, (_, i) => i + 1);
        expect(published.map((p) => p.offset).sort((x, y) => x - y)).toEqual(all);
        expect(new Set(published.map((p) => p.epoch)).size).toBe(1);
        const history = await a.history(k, { after: 0 });
        expect([history.first, history.top]).toEqual([1, 200]);
        expect(history.publications.map((p) => p.offset)).toEqual(all);
        // Each offset holds the payload whose publish was told that offset.
        const told = new Map(published.map((p) => [p.offset, p.payload]));
        expect(history.publications.map((p) => p.payload)).toEqual(all.map((offset) => told.get(offset)));
      });
    }
  });
}
