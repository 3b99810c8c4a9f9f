import { MemoryStreamBus } from '../../../src/adapters/buster/index.js';
import { streamBusConformance } from './bus-conformance.js';

streamBusConformance('memory', () => new MemoryStreamBus());
