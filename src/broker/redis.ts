import { randomUUID } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { Redis, type RedisOptions } from 'ioredis';
import {
  type Broker,
  BrokerError,
  type History,
  type HistoryQuery,
  type Member,
  type PresenceChange,
  type Publication,
} from './broker.js';
import type { IdempotencyStore, StoredOutcome } from './idempotency.js';

export interface RedisBrokerOptions {
  /** A `redis://` URL or ioredis options. */
  readonly redis: string | RedisOptions;
  /** Prefix of every Redis key this broker uses. Default `sb:`. */
  readonly prefix?: string;
  /** Publications kept per key (XADD MAXLEN ~ N, so Redis may keep slightly more). Default 1000. */
  readonly historySize?: number;
  /** Gzip stored and fanned-out payloads, as the Buster seed does. Default false. */
  readonly gzip?: boolean;
}

/**
 * Atomically: read or create the key's epoch, take the next offset, append to the bounded stream
 * with that offset as its id, and fan out on the key's channel. One script, so offsets are gap-free
 * and in the same order in the stream and on the channel. A Redis restart without persistence loses
 * the epoch key, so the next publish starts a new epoch and subscribers learn history was lost.
 */
const PUBLISH_SCRIPT = `
local epoch = redis.call('GET', KEYS[2])
if not epoch then epoch = ARGV[2]; redis.call('SET', KEYS[2], epoch) end
local offset = redis.call('INCR', KEYS[3])
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], '0-' .. offset, 'p', ARGV[1])
redis.call('PUBLISH', KEYS[4], epoch .. '|' .. offset .. '|' .. ARGV[1])
return {epoch, offset}
`;

interface Followed {
  readonly listeners: Set<(publication: Publication) => void>;
  epoch: string;
  last: number;
  /** Deliveries for one key run one after another, so gap-filling reads keep offsets in order. */
  chain: Promise<void>;
}

/**
 * Redis Streams for history (read by offset for recovery) and Redis pub/sub for fan-out between
 * nodes. Each node tracks the last offset it delivered per key; a publication that skips ahead
 * (pub/sub drops messages while a connection is down) is filled from the stream first, so
 * listeners see every offset once and in order.
 *
 * Failure policy: a publish while Redis is unreachable fails at once with a BrokerError (no
 * offline queue, so nothing is published twice or late); subscribers resume and fill the gap
 * from the stream when Redis is back.
 */
export class RedisBroker implements Broker {
  readonly distributed = true;
  private readonly commands: Redis;
  private readonly subscriber: Redis;
  private readonly prefix: string;
  private readonly historySize: number;
  private readonly gzip: boolean;
  private readonly followed = new Map<string, Followed>();
  private readonly presenceListeners = new Map<string, Set<(change: PresenceChange) => void>>();
  private closed = false;

  constructor(options: RedisBrokerOptions) {
    const base: RedisOptions = typeof options.redis === 'string' ? {} : options.redis;
    const make = (extra: RedisOptions) =>
      typeof options.redis === 'string' ? new Redis(options.redis, extra) : new Redis({ ...base, ...extra });
    this.commands = make({ enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: false });
    this.subscriber = make({ maxRetriesPerRequest: null });
    // Connection errors are retried by ioredis; they surface as failed commands, not crashes.
    this.commands.on('error', () => {});
    this.subscriber.on('error', () => {});
    this.prefix = options.prefix ?? 'sb:';
    this.historySize = options.historySize ?? 1000;
    this.gzip = options.gzip ?? false;
    this.commands.defineCommand('sbPublish', { numberOfKeys: 4, lua: PUBLISH_SCRIPT });
    this.subscriber.on('messageBuffer', (channel: Buffer, message: Buffer) =>
      this.received(channel, message),
    );
    // After a reconnect ioredis resubscribes; fill in whatever pub/sub dropped meanwhile.
    this.subscriber.on('ready', () => {
      for (const [key, state] of this.followed) this.enqueue(key, state, () => this.catchUp(key, state));
    });
  }

  /** Idempotent calls, in Redis strings `<prefix>idem:<key>`, shared by every node on this Redis. */
  readonly idempotency: IdempotencyStore = {
    claim: async (key, ttlMs) => {
      const redisKey = `${this.prefix}idem:${key}`;
      try {
        if ((await this.commands.set(redisKey, RUNNING, 'PX', Math.max(1, Math.ceil(ttlMs)), 'NX')) === 'OK')
          return { state: 'claimed' };
        const value = await this.commands.get(redisKey);
        // Gone between the two commands (expired): claim again on the next poll.
        if (value === null || value === RUNNING) return { state: 'running' };
        return { state: 'done', outcome: JSON.parse(value) as StoredOutcome };
      } catch (error) {
        throw new BrokerError(`idempotency store unavailable: ${(error as Error).message}`);
      }
    },
    complete: async (key, outcome, windowMs) => {
      await this.commands.set(
        `${this.prefix}idem:${key}`,
        JSON.stringify(outcome),
        'PX',
        Math.max(1, Math.ceil(windowMs)),
      );
    },
    release: async (key) => {
      // Only a claim is released; an outcome another run already stored stays.
      await this.commands.eval(RELEASE_SCRIPT, 1, `${this.prefix}idem:${key}`, RUNNING);
    },
  };

  /** Resolves once both connections are ready; useful before a test or a benchmark. */
  async ready(): Promise<void> {
    await Promise.all([waitReady(this.commands), waitReady(this.subscriber)]);
  }

  async publish(key: string, payload: unknown): Promise<Publication> {
    if (this.closed) throw new BrokerError('broker is closed');
    const encoded = this.encode(payload);
    try {
      const [epoch, offset] = (await (
        this.commands as unknown as {
          sbPublish(...args: (string | Buffer | number)[]): Promise<[Buffer, number]>;
        }
      ).sbPublish(
        this.keyOf(key, 'log'),
        this.keyOf(key, 'epoch'),
        this.keyOf(key, 'seq'),
        this.channelOf(key),
        encoded,
        randomUUID(),
        this.historySize,
      )) as [Buffer | string, number];
      return { key, epoch: epoch.toString(), offset: Number(offset), payload };
    } catch (error) {
      throw new BrokerError(`redis publish failed: ${(error as Error).message}`);
    }
  }

  async history(key: string, query: HistoryQuery): Promise<History> {
    try {
      // Fix the epoch before anyone reads it, so that a position taken now stays valid later.
      await this.commands.set(this.keyOf(key, 'epoch'), randomUUID(), 'NX');
      const [[, epoch], [, seq], [, first]] = (await this.commands
        .multi()
        .get(this.keyOf(key, 'epoch'))
        .get(this.keyOf(key, 'seq'))
        .xrange(this.keyOf(key, 'log'), '-', '+', 'COUNT', 1)
        .exec()) as [[unknown, string | null], [unknown, string | null], [unknown, [string, string[]][]]];
      const top = Number(seq ?? 0);
      const currentEpoch = epoch ?? '';
      const firstOffset = first[0] ? offsetOf(first[0][0]) : top + 1;
      let publications: Publication[] = [];
      if ('after' in query && query.after !== undefined) {
        publications = await this.range(key, currentEpoch, query.after + 1, top);
      } else if ('last' in query && query.last !== undefined && query.last > 0) {
        publications = await this.range(key, currentEpoch, Math.max(firstOffset, top - query.last + 1), top);
      }
      return { epoch: currentEpoch, top, first: firstOffset, publications };
    } catch (error) {
      throw new BrokerError(`redis history failed: ${(error as Error).message}`);
    }
  }

  async subscribe(key: string, listener: (publication: Publication) => void): Promise<() => Promise<void>> {
    let state = this.followed.get(key);
    if (!state) {
      state = { listeners: new Set(), epoch: '', last: 0, chain: Promise.resolve() };
      this.followed.set(key, state);
      await this.subscriber.subscribe(this.channelOf(key));
      // Publications up to the current offset are history; live delivery starts after it.
      const [epoch, seq] = await this.commands.mget(this.keyOf(key, 'epoch'), this.keyOf(key, 'seq'));
      state.epoch = epoch ?? '';
      state.last = Number(seq ?? 0);
    }
    state.listeners.add(listener);
    const followed = state;
    return async () => {
      followed.listeners.delete(listener);
      if (followed.listeners.size || this.followed.get(key) !== followed) return;
      this.followed.delete(key);
      await this.subscriber.unsubscribe(this.channelOf(key)).catch(() => {});
    };
  }

  async join(key: string, member: Member, ttlMs: number): Promise<void> {
    const added = await this.commands
      .multi()
      .zadd(this.keyOf(key, 'presence'), Date.now() + ttlMs, member.connectionId)
      .hset(this.keyOf(key, 'members'), member.connectionId, JSON.stringify(member))
      .exec();
    if (added?.[0]?.[1] === 1)
      await this.commands.publish(this.channelOf(key, 'presence'), JSON.stringify({ type: 'join', member }));
  }

  async leave(key: string, connectionId: string): Promise<void> {
    const [[, removed], [, raw]] = (await this.commands
      .multi()
      .zrem(this.keyOf(key, 'presence'), connectionId)
      .hget(this.keyOf(key, 'members'), connectionId)
      .exec()) as [[unknown, number], [unknown, string | null]];
    await this.commands.hdel(this.keyOf(key, 'members'), connectionId);
    if (removed === 1 && raw) {
      await this.commands.publish(
        this.channelOf(key, 'presence'),
        JSON.stringify({ type: 'leave', member: JSON.parse(raw) }),
      );
    }
  }

  /** Members whose last join is younger than its TTL; expired ones (a node that died) are removed and announced. */
  async members(key: string): Promise<Member[]> {
    const now = Date.now();
    const expired = await this.commands.zrangebyscore(this.keyOf(key, 'presence'), '-inf', now);
    for (const connectionId of expired) await this.leave(key, connectionId);
    const live = await this.commands.zrangebyscore(this.keyOf(key, 'presence'), now, '+inf');
    if (!live.length) return [];
    const raw = await this.commands.hmget(this.keyOf(key, 'members'), ...live);
    return raw.filter((entry): entry is string => entry !== null).map((entry) => JSON.parse(entry) as Member);
  }

  async onPresence(key: string, listener: (change: PresenceChange) => void): Promise<() => Promise<void>> {
    let listeners = this.presenceListeners.get(key);
    if (!listeners) {
      listeners = new Set();
      this.presenceListeners.set(key, listeners);
      await this.subscriber.subscribe(this.channelOf(key, 'presence'));
    }
    listeners.add(listener);
    const set = listeners;
    return async () => {
      set.delete(listener);
      if (set.size) return;
      this.presenceListeners.delete(key);
      await this.subscriber.unsubscribe(this.channelOf(key, 'presence')).catch(() => {});
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.subscriber.disconnect();
    this.commands.disconnect();
  }

  private received(channelBuffer: Buffer, message: Buffer): void {
    const channel = channelBuffer.toString();
    if (channel.endsWith('}:presence')) {
      const key = channel.slice(this.prefix.length + 1, -'}:presence'.length);
      const change = JSON.parse(message.toString()) as PresenceChange;
      for (const listener of this.presenceListeners.get(key) ?? []) listener(change);
      return;
    }
    const key = channel.slice(this.prefix.length + 1, -'}:pub'.length);
    const state = this.followed.get(key);
    if (!state) return;
    const firstBar = message.indexOf(0x7c);
    const secondBar = message.indexOf(0x7c, firstBar + 1);
    const epoch = message.subarray(0, firstBar).toString();
    const offset = Number(message.subarray(firstBar + 1, secondBar).toString());
    const payload = this.decode(message.subarray(secondBar + 1));
    this.enqueue(key, state, () => this.arrive(key, state, { key, epoch, offset, payload }));
  }

  private enqueue(key: string, state: Followed, step: () => Promise<void>): void {
    state.chain = state.chain.then(step).catch(() => {
      // Redis went away mid-catch-up; the next 'ready' catches up again from `last`.
      void key;
    });
  }

  private async arrive(key: string, state: Followed, publication: Publication): Promise<void> {
    if (publication.epoch !== state.epoch) {
      // History was lost (or this is the key's first epoch): start over at the new epoch's beginning.
      state.epoch = publication.epoch;
      state.last = 0;
    }
    if (publication.offset <= state.last) return;
    if (publication.offset > state.last + 1) {
      for (const missed of await this.range(key, state.epoch, state.last + 1, publication.offset - 1)) {
        this.deliver(state, missed);
      }
    }
    this.deliver(state, publication);
  }

  private async catchUp(key: string, state: Followed): Promise<void> {
    const [epoch, seq] = await this.commands.mget(this.keyOf(key, 'epoch'), this.keyOf(key, 'seq'));
    if (!epoch) return;
    if (epoch !== state.epoch) {
      state.epoch = epoch;
      state.last = 0;
    }
    for (const missed of await this.range(key, epoch, state.last + 1, Number(seq ?? 0)))
      this.deliver(state, missed);
  }

  private deliver(state: Followed, publication: Publication): void {
    if (publication.offset <= state.last) return;
    state.last = publication.offset;
    for (const listener of state.listeners) listener(publication);
  }

  private async range(key: string, epoch: string, from: number, to: number): Promise<Publication[]> {
    if (to < from) return [];
    const entries = (await this.commands.xrangeBuffer(this.keyOf(key, 'log'), `0-${from}`, `0-${to}`)) as [
      Buffer,
      Buffer[],
    ][];
    return entries.map(([id, fields]) => ({
      key,
      epoch,
      offset: offsetOf(id.toString()),
      payload: this.decode(fields[1] as Buffer),
    }));
  }

  private encode(payload: unknown): Buffer | string {
    const json = JSON.stringify(payload ?? null);
    return this.gzip ? Buffer.concat([GZIP_MARK, gzipSync(json)]) : json;
  }

  private decode(data: Buffer): unknown {
    const text = data[0] === GZIP_MARK[0] ? gunzipSync(data.subarray(1)).toString() : data.toString();
    return JSON.parse(text);
  }

  /** `sb:{jobs.42.logs}:log`: the braces keep all of a key's data in one Redis Cluster slot. */
  private keyOf(key: string, part: string): string {
    return `${this.prefix}{${key}}:${part}`;
  }

  private channelOf(key: string, part = 'pub'): string {
    return `${this.prefix}{${key}}:${part}`;
  }
}

/** The value of a claimed idempotency key while its call runs (an outcome is JSON, never this). */
const RUNNING = 'running';
const RELEASE_SCRIPT = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

/** Marks a gzipped payload; JSON text never starts with this byte. */
const GZIP_MARK = Buffer.from([0x00]);

function offsetOf(streamId: string): number {
  return Number(streamId.slice(streamId.indexOf('-') + 1));
}

function waitReady(redis: Redis): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    redis.once('ready', () => resolve());
    redis.once('end', () => reject(new BrokerError('redis connection ended')));
  });
}
