import { expect, test } from 'vitest';
import { MemoryBroker } from '../../src/broker/memory.js';
import { brokerConformance } from './conformance.js';

brokerConformance('memory', { make: async (historySize) => new MemoryBroker({ historySize }) });

test('restart() starts a new epoch with empty history', async () => {
  const broker = new MemoryBroker();
  const before = await broker.publish('k', 1);
  broker.restart();
  const after = await broker.publish('k', 2);
  expect(after.offset).toBe(1);
  expect(after.epoch).not.toBe(before.epoch);
  expect((await broker.history('k', { after: 0 })).publications.map((p) => p.payload)).toEqual([2]);
});

test('a closed broker refuses publishes with a BrokerError', async () => {
  const broker = new MemoryBroker();
  await broker.close();
  await expect(broker.publish('k', 1)).rejects.toMatchObject({
    name: 'BrokerError',
    message: 'broker is closed',
  });
});

test('a listener that throws does not stop delivery to the listeners after it; the error is reported', async () => {
  const reported: [string, string][] = [];
  const broker = new MemoryBroker({
    onListenerError: (error, key) => reported.push([key, (error as Error).message]),
  });
  const got: [string, number][] = [];
  await broker.subscribe('k', (p) => got.push(['first', p.offset]));
  await broker.subscribe('k', () => {
    throw new Error('listener bug');
  });
  await broker.subscribe('k', (p) => got.push(['third', p.offset]));
  await broker.onPresence('k', () => {
    throw new Error('presence bug');
  });
  const presence: string[] = [];
  await broker.onPresence('k', (change) => presence.push(change.type));

  expect(await broker.publish('k', 'a')).toMatchObject({ offset: 1 });
  expect(await broker.publish('k', 'b')).toMatchObject({ offset: 2 });
  await broker.join('k', { connectionId: 'c', userId: 'u' }, 1000);
  await broker.leave('k', 'c');

  expect(got).toEqual([
    ['first', 1],
    ['third', 1],
    ['first', 2],
    ['third', 2],
  ]);
  expect(presence).toEqual(['join', 'leave']);
  expect(reported).toEqual([
    ['k', 'listener bug'],
    ['k', 'listener bug'],
    ['k', 'presence bug'],
    ['k', 'presence bug'],
  ]);
  expect((await broker.history('k', { after: 0 })).publications.map((p) => p.payload)).toEqual(['a', 'b']);
});
