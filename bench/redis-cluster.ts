// The broker through one Redis and through a three-shard Redis Cluster: publications per second
// and fan-out deliveries per second, measured at the broker (no WebSocket), in this process.
import { performance } from 'node:perf_hooks';
import type { Broker } from '../src/broker/broker.js';
import { RedisBroker, type RedisBrokerOptions } from '../src/broker/redis.js';

/** Topics the publications are spread over (round robin): on a cluster they land on every shard. */
export const CLUSTER_TOPICS = 30;
export const CLUSTER_PUBLICATIONS = 20_000;
/** Publishes in flight at once, from one publishing broker. */
export const CLUSTER_IN_FLIGHT = 64;
/** Subscribing brokers (as server nodes would be), each listening to every topic. */
export const CLUSTER_SUBSCRIBERS = 2;

export interface BrokerThroughput {
  /** Publications acknowledged per second. */
  readonly publicationsPerSecond: number;
  /** Deliveries to the subscribing brokers' listeners per second, until the last one. */
  readonly deliveriesPerSecond: number;
  /** CPU this Node process spent per publication (publishing, routing, receiving), in µs. */
  readonly nodeCpuMicrosPerPublication: number;
}

export async function brokerThroughput(backend: RedisBrokerOptions): Promise<BrokerThroughput> {
  const prefix = `bench-${Date.now()}-${Math.random().toString(36).slice(2)}:`;
  const make = async () => {
    const broker = new RedisBroker({ ...backend, prefix, historySize: 1000 });
    await broker.ready();
    return broker;
  };
  const publisher = await make();
  const subscribers: Broker[] = [];
  for (let i = 0; i < CLUSTER_SUBSCRIBERS; i++) subscribers.push(await make());
  const topics = Array.from({ length: CLUSTER_TOPICS }, (_, i) => `bench.topic.${i}`);
  const expected = CLUSTER_PUBLICATIONS * CLUSTER_SUBSCRIBERS;
  let delivered = 0;
  let allDelivered: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    allDelivered = resolve;
  });
  for (const subscriber of subscribers)
    for (const topic of topics)
      await subscriber.subscribe(topic, () => {
        if (++delivered === expected) allDelivered();
      });
  const payload = { price: 101.25, symbol: 'BENCH', note: 'x'.repeat(60) };
  const cpu = process.cpuUsage();
  const began = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < CLUSTER_PUBLICATIONS) {
      const n = next++;
      await publisher.publish(topics[n % topics.length]!, payload);
    }
  };
  await Promise.all(Array.from({ length: CLUSTER_IN_FLIGHT }, worker));
  const published = performance.now();
  await done;
  const finished = performance.now();
  const used = process.cpuUsage(cpu);
  for (const broker of [publisher, ...subscribers]) await broker.close();
  return {
    publicationsPerSecond: CLUSTER_PUBLICATIONS / ((published - began) / 1000),
    deliveriesPerSecond: expected / ((finished - began) / 1000),
    nodeCpuMicrosPerPublication: (used.user + used.system) / CLUSTER_PUBLICATIONS,
  };
}
