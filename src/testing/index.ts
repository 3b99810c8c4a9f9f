export { TestClock } from './clock.js';
export { assertDelivery, checkDelivery, type DeliveryExpectation, type DeliveryReport } from './delivery.js';
export { FaultyBroker } from './faulty-broker.js';
export { type Direction, type FaultRule, FaultyNetwork, type Link } from './faulty-network.js';
export { comparable, outbound, type ReplayOptions, replay } from './replay.js';
export { createTestKit, TestKit, type TestKitOptions, type TestNode } from './test-kit.js';
