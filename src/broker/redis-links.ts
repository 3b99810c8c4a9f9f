import { Cluster, type ClusterNode, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';
import { BrokerError } from './broker.js';
import { lastHeard } from './redis-timeout.js';

/** Where the Redis broker's data lives on a Redis Cluster: its nodes (some suffice) and options. */
export interface RedisClusterConfig {
  /** Some of the cluster's nodes (`redis://host:port` or `{ host, port }`); the rest are discovered. */
  readonly nodes: readonly ClusterNode[];
  /**
   * ioredis Cluster options. `scaleReads` is always `'master'` (a replica may lag behind the
   * offsets it is asked about) and `shardedSubscribers` is always on for the subscriber.
   */
  readonly options?: ClusterOptions;
}

/** The commands the broker's Lua scripts add to a connection (redis-scripts.ts). */
export interface ScriptedCommands {
  sbPublish(...args: (string | Buffer | number)[]): Promise<[Buffer, number]>;
  sbClaim(...args: (string | number)[]): Promise<[string, string | null]>;
  sbJoin(...args: (string | number)[]): Promise<number>;
  sbLeave(...args: (string | number)[]): Promise<number>;
}

export type Commands = (Redis | Cluster) & ScriptedCommands;

/**
 * The broker's two links to Redis, one instance or a cluster: a command connection and a
 * subscriber. On a cluster, live delivery uses sharded pub/sub (`SSUBSCRIBE`, one subscriber
 * connection per primary), so a publication travels only within its shard.
 */
export interface RedisLinks {
  readonly commands: Commands;
  /** True on a cluster: scripts fan out with `SPUBLISH`, subscriptions are `SSUBSCRIBE`. */
  readonly sharded: boolean;
  /** When Redis last sent anything on the command link; see `withTimeout`. */
  readonly commandsHeard: () => number;
  /** When Redis last sent anything on the subscriber link. */
  readonly subscriberHeard: () => number;
  subscribe(channel: string): Promise<unknown>;
  unsubscribe(channel: string): Promise<unknown>;
  ping(): Promise<unknown>;
  /** Every message on a subscribed channel. */
  onMessage(handler: (channel: Buffer, message: Buffer) => void): void;
  /** After the subscriber reconnected and subscribed again (messages may have been missed). */
  onResubscribed(handler: () => void): void;
  ready(): Promise<void>;
  disconnect(): void;
}

/** The command link fails fast: no offline queue, one retry; every operation is also timed. */
const COMMANDS: RedisOptions = { enableOfflineQueue: false, maxRetriesPerRequest: 1 };

export function singleLinks(redis: string | RedisOptions): RedisLinks {
  const make = (extra: RedisOptions) =>
    typeof redis === 'string' ? new Redis(redis, extra) : new Redis({ ...redis, ...extra });
  const commands = make(COMMANDS) as Redis & ScriptedCommands;
  // Queued while reconnecting: ioredis resubscribes by itself.
  const subscriber = make({ maxRetriesPerRequest: null });
  // Connection errors are retried by ioredis; they surface as failed commands, not crashes.
  commands.on('error', () => {});
  subscriber.on('error', () => {});
  return {
    commands,
    sharded: false,
    commandsHeard: lastHeard(commands),
    subscriberHeard: lastHeard(subscriber),
    subscribe: (channel) => subscriber.subscribe(channel),
    unsubscribe: (channel) => subscriber.unsubscribe(channel),
    ping: () => subscriber.ping(),
    onMessage: (handler) => subscriber.on('messageBuffer', handler),
    onResubscribed: (handler) => subscriber.on('ready', handler),
    ...lifecycle(commands, subscriber),
  };
}

/**
 * On a cluster a command may go to any of several connections, so there is no one connection
 * whose silence to watch: the command timeout counts the time since the command was sent.
 */
const sinceSent = () => 0;

export function clusterLinks(config: RedisClusterConfig): RedisLinks {
  const nodes = [...config.nodes];
  const base: ClusterOptions = { ...config.options, scaleReads: 'master' };
  const commands = new Cluster(nodes, {
    ...base,
    enableOfflineQueue: false,
    redisOptions: { ...base.redisOptions, maxRetriesPerRequest: 1 },
  }) as Cluster & ScriptedCommands;
  const subscriber = new Cluster(nodes, { ...base, shardedSubscribers: true });
  commands.on('error', () => {});
  subscriber.on('error', () => {});
  return {
    commands,
    sharded: true,
    commandsHeard: sinceSent,
    subscriberHeard: sinceSent,
    subscribe: (channel) => subscriber.ssubscribe(channel),
    unsubscribe: (channel) => subscriber.sunsubscribe(channel),
    ping: () => subscriber.ping(),
    onMessage: (handler) => subscriber.on('smessageBuffer', handler),
    // Emitted once the sharded subscribers were rebuilt after a topology change (a failover, a
    // moved slot) and resubscribed to their channels.
    onResubscribed: (handler) => subscriber.on('subscribersReady', handler),
    ...lifecycle(commands, subscriber),
  };
}

function lifecycle(commands: Redis | Cluster, subscriber: Redis | Cluster) {
  return {
    ready: async () => {
      await Promise.all([waitReady(commands), waitReady(subscriber)]);
    },
    disconnect: () => {
      subscriber.disconnect();
      commands.disconnect();
    },
  };
}

function waitReady(redis: Redis | Cluster): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    redis.once('ready', () => resolve());
    redis.once('end', () => reject(new BrokerError('redis connection ended')));
  });
}
