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
