import { afterEach, describe, expect, test } from 'vitest';
import { MemoryBroker } from '../../src/broker/memory.js';
import { SyncedCollection } from '../../src/client/synced-collection.js';
import { keyStore } from '../support/fixtures.js';
import { type Harness, startHarness } from '../support/harness.js';

let harness: Harness;
afterEach(() => harness?.close());

describe('snapshot then sync', () => {
  test('a subscriber gets the snapshot, then upserts and deletes in order', async () => {
    harness = await startHarness();
    const team = { team: 'red' };
    keyStore.apply(team, { op: 'upsert', key: 'k1', value: { role: 'admin' } });
    keyStore.apply(team, { op: 'upsert', key: 'k2', value: { role: 'tenant' } });
    const keys = new SyncedCollection<{ role: string }>();
    const sub = harness.client().subscribe('keys.sync', team, (change) => keys.apply(change), {
      onSnapshot: (snapshot) => keys.merge(snapshot),
    });
    await sub.ready;
    expect(Object.fromEntries(keys.items)).toEqual({ k1: { role: 'admin' }, k2: { role: 'tenant' } });
    const change = async (c: Parameters<typeof keyStore.apply>[1]) => {
      keyStore.apply(team, c);
      await harness.server.publish('keys.sync', team, c);
    };
    await change({ op: 'upsert', key: 'k3', value: { role: 'viewer' } });
    await change({ op: 'delete', key: 'k1' });
    await change({ op: 'upsert', key: 'k2', value: { role: 'admin' } });
    await expect
      .poll(() => Object.fromEntries(keys.items))
      .toEqual({ k2: { role: 'admin' }, k3: { role: 'viewer' } });
  });

  test('an empty snapshot after lost history never wipes the subscriber’s state', async () => {
    const broker = new MemoryBroker();
    harness = await startHarness({ broker });
    const team = { team: 'blue' };
    keyStore.apply(team, { op: 'upsert', key: 'a', value: { role: 'x' } });
    const keys = new SyncedCollection<{ role: string }>();
    const snapshots: unknown[] = [];
    const client = harness.client({ reconnect: { initialDelayMs: 10, maxDelayMs: 10 } });
    const sub = client.subscribe('keys.sync', team, (change) => keys.apply(change), {
      onSnapshot: (snapshot) => {
        snapshots.push(snapshot);
        keys.merge(snapshot);
      },
    });
    await sub.ready;
    await harness.server.publish('keys.sync', team, { op: 'upsert', key: 'b', value: { role: 'y' } });
    await expect.poll(() => keys.items.size).toBe(2);
    // The server loses everything: broker history and the store behind the snapshot.
    keyStore.apply(team, { op: 'delete', key: 'a' });
    const reconnecting = new Promise<void>((resolve) =>
      client.onStateChange((s) => s === 'reconnecting' && resolve()),
    );
    harness.sockets[0]!.terminate();
    await reconnecting;
    broker.restart();
    await harness.server.publish('keys.sync', team, { op: 'upsert', key: 'c', value: { role: 'z' } });
    await expect.poll(() => snapshots.length).toBe(2);
    expect(snapshots[1]).toEqual({});
    await expect
      .poll(() => Object.fromEntries(keys.items))
      .toEqual({
        a: { role: 'x' },
        b: { role: 'y' },
        c: { role: 'z' },
      });
  });

  test('merge is additive and ignores missing snapshots', () => {
    const keys = new SyncedCollection<number>();
    keys.apply({ op: 'upsert', key: 'one', value: 1 });
    keys.merge({});
    keys.merge(undefined);
    keys.merge(null);
    keys.merge({ two: 2 });
    expect(Object.fromEntries(keys.items)).toEqual({ one: 1, two: 2 });
  });
});
