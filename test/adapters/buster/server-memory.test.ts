import { MemoryStreamBus } from '../../../src/adapters/buster/index.js';
import { busterServerSuite } from './server-suite.js';

const bus = new MemoryStreamBus();
const toBuffers = (fields: ReadonlyMap<string, Uint8Array>) =>
  Object.fromEntries([...fields].map(([name, value]) => [name, Buffer.from(value)]));

busterServerSuite('memory', bus, {
  entries: async (stream) =>
    bus.range(stream).map((entry) => ({ id: entry.id, fields: toBuffers(entry.fields) })),
  groups: async (stream) => bus.groups(stream),
  exists: async (key) => bus.keys().includes(key) || bus.hasValue(key),
});
