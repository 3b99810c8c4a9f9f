import { randomUUID } from 'node:crypto';
import type { RedisOptions } from 'ioredis';
import { consoleLogger, type Logger } from '../server/logger.js';
import { DEFAULT_MAX_DEPTH, parseBoundedJson } from '../wire/bounded-json.js';
import {
  type Broker,
  BrokerError,
  type History,
  type HistoryQuery,
  type ListenOptions,
  type Member,
  type PresenceChange,
  type Publication,
} from './broker.js';
import type { IdempotencyStore, StoredOutcome } from './idempotency.js';
import {
  DEFAULT_MAX_PAYLOAD_BYTES,
  decodePayload,
  encodePayload,
  type PayloadCodec,
  readMember,
  readPresenceChange,
  readPublicationMessage,
} from './redis-codec.js';
import { KeyFollow, type StreamReader } from './redis-follow.js';

export type { RedisClusterConfig } from './redis-links.js';

import {
  type Commands,
  clusterLinks,
  type RedisClusterConfig,
  type RedisLinks,
  singleLinks,
} from './redis-links.js';
import {
  CLAIM_SCRIPT,
  CLUSTER_PUBLISH_SCRIPT,
  deadlineFor,
  JOIN_SCRIPT,
  LEAVE_SCRIPT,
  PUBLISH_SCRIPT,
  RELEASE_SCRIPT,
  sharded,
} from './redis-scripts.js';
import { withTimeout } from './redis-timeout.js';

/** The Redis broker's defaults, each a `RedisBrokerOptions` setting; docs/topics.md lists them. */
export const REDIS_BROKER_DEFAULTS = {
  /** Publications kept per key in the stream (approximately: `XADD MAXLEN ~`). */
  historySize: 1000,
  /**
   * How long Redis may stay silent on a connection while a command waits for its reply, before
   * the operation fails with a BrokerError (`UNAVAILABLE` to a client): a stalled Redis that keeps
   * its connections open fails fast; a busy one still streaming a large reply does not.
   */
  commandTimeoutMs: 1000,
  /** Largest payload, as JSON text (also after gunzip), published or read back. */
  maxPayloadBytes: DEFAULT_MAX_PAYLOAD_BYTES,
} as const;

/** @see REDIS_BROKER_DEFAULTS */
export const DEFAULT_REDIS_COMMAND_TIMEOUT_MS = REDIS_BROKER_DEFAULTS.commandTimeoutMs;

export interface RedisBrokerOptions {
  /** A `redis://` URL or ioredis options: one Redis. Give this or `cluster`. */
  readonly redis?: string | RedisOptions;
  /**
   * A Redis Cluster instead of one Redis: each key's data lives on the shard of its hash tag and
   * live delivery uses sharded pub/sub. Give this or `redis`. See docs/topics.md.
   */
  readonly cluster?: RedisClusterConfig;
  /** Prefix of every Redis key this broker uses. Default `sb:`. */
  readonly prefix?: string;
  /** Publications kept per key (XADD MAXLEN ~ N, so Redis may keep slightly more). Default 1000. */
  readonly historySize?: number;
  /** Gzip stored and fanned-out payloads, as the Buster seed does. Default false. */
  readonly gzip?: boolean;
  /**
   * How long Redis may stay silent while a command or subscribe waits for its reply, before the
   * operation fails with a BrokerError. Default {@link DEFAULT_REDIS_COMMAND_TIMEOUT_MS} (1000 ms).
   */
  readonly commandTimeoutMs?: number;
  /** Largest payload (JSON text, also after gunzip) published or read back. Default 16 MiB. */
  readonly maxPayloadBytes?: number;
  /** Where malformed data read from Redis is reported. Default: JSON lines on stderr. */
  readonly logger?: Logger;
  /**
   * Told when a listener throws (as the memory broker's option): the other listeners are called
   * all the same. Default: `logger.error('a broker listener threw', { key, error })`.
   */
  readonly onListenerError?: (error: unknown, key: string) => void;
}

/**
 * Redis Streams for history (read by offset for recovery) and Redis pub/sub for fan-out between
 * nodes. Each node follows each key it has listeners for (see `KeyFollow`): it delivers every
 * offset once and in order, fills from the stream what pub/sub dropped, and tells its listeners
 * of an `epoch` gap when Redis lost the key's history under them.
 *
 * Failure policy: every command has a timeout (`commandTimeoutMs` of silence from Redis), and there
 * is no offline queue, so a publish while Redis is unreachable or stalled fails with a BrokerError
 * within that time. A
 * write the broker gave up on is refused by Redis if it arrives late (see redis-scripts.ts), so
 * nothing is published twice or after its caller was told it failed. Subscribers resume and fill
 * the gap from the stream when Redis is back.
 */
export class RedisBroker implements Broker {
  readonly distributed = true;
  private readonly links: RedisLinks;
  private readonly commands: Commands;
  private readonly prefix: string;
  private readonly historySize: number;
  private readonly codec: PayloadCodec;
  private readonly commandTimeoutMs: number;
  private readonly commandsHeard: () => number;
  private readonly subscriberHeard: () => number;
  private readonly logger: Logger;
  private readonly onListenerError: (error: unknown, key: string) => void;
  private readonly followed = new Map<string, { follow: KeyFollow; ready: Promise<void> }>();
  private readonly presenceListeners = new Map<
    string,
    { listeners: Set<(change: PresenceChange) => void>; ready: Promise<unknown> }
  >();
  private closed = false;

  constructor(options: RedisBrokerOptions) {
    this.commandTimeoutMs = options.commandTimeoutMs ?? DEFAULT_REDIS_COMMAND_TIMEOUT_MS;
    if ((options.redis === undefined) === (options.cluster === undefined))
      throw new TypeError('RedisBroker needs exactly one of `redis` and `cluster`');
    this.prefix = options.prefix ?? 'sb:';
    if (options.cluster && /[{}]/.test(this.prefix))
      throw new TypeError('on a Redis Cluster the key prefix may not contain `{` or `}` (hash tags)');
    // Every operation is bounded by `within`, not ioredis's commandTimeout (see redis-timeout.ts;
    // on the subscriber, ioredis's own resubscription would also reject unhandled on a timeout).
    // A command the broker gave up on stays in the connection's queue until Redis answers it.
    this.links = options.cluster
      ? clusterLinks(options.cluster)
      : singleLinks(options.redis as string | RedisOptions);
    this.commands = this.links.commands;
    this.commandsHeard = this.links.commandsHeard;
    this.subscriberHeard = this.links.subscriberHeard;
    this.historySize = options.historySize ?? REDIS_BROKER_DEFAULTS.historySize;
    this.codec = {
      gzip: options.gzip ?? false,
      maxPayloadBytes: options.maxPayloadBytes ?? REDIS_BROKER_DEFAULTS.maxPayloadBytes,
    };
    this.logger = options.logger ?? consoleLogger;
    this.onListenerError =
      options.onListenerError ??
      ((error, key) => this.logger.error('a broker listener threw', { key, error }));
    const fanOut = this.links.sharded ? sharded : (script: string) => script;
    this.commands.defineCommand('sbPublish', {
      numberOfKeys: this.links.sharded ? 5 : 4,
      lua: this.links.sharded ? CLUSTER_PUBLISH_SCRIPT : PUBLISH_SCRIPT,
    });
    this.commands.defineCommand('sbClaim', { numberOfKeys: 1, lua: CLAIM_SCRIPT });
    this.commands.defineCommand('sbJoin', { numberOfKeys: 3, lua: fanOut(JOIN_SCRIPT) });
    this.commands.defineCommand('sbLeave', { numberOfKeys: 3, lua: fanOut(LEAVE_SCRIPT) });
    this.links.onMessage((channel, message) => this.received(channel, message));
    // After a reconnect ioredis resubscribes; once that is done (a PING answered after it on the
    // same connection), fill in whatever pub/sub dropped meanwhile.
    this.links.onResubscribed(() => {
      if (this.followed.size === 0) return;
      void this.within(this.links.ping(), this.subscriberHeard)
        .catch(() => {
          // Not answered in time: catch up anyway; a read that fails is retried by its follow.
        })
        .then(() => {
          for (const { follow } of this.followed.values()) follow.resync();
        });
    });
  }

  /** Idempotent calls, in Redis strings `<prefix>idem:<key>`, shared by every node on this Redis. */
  readonly idempotency: IdempotencyStore = {
    claim: async (key, ttlMs) => {
      const [state, value] = await this.command('idempotency store', () =>
        this.commands.sbClaim(
          `${this.prefix}idem:${key}`,
          deadlineFor(this.commandTimeoutMs),
          RUNNING,
          Math.max(1, Math.ceil(ttlMs)),
        ),
      );
      if (state === 'claimed') return { state: 'claimed' };
      // Gone between the two reads (expired) or still running: poll again.
      if (value === null || value === RUNNING) return { state: 'running' };
      return { state: 'done', outcome: readOutcome(value) };
    },
    complete: async (key, outcome, windowMs) => {
      await this.command('idempotency store', () =>
        this.commands.set(
          `${this.prefix}idem:${key}`,
          JSON.stringify(outcome),
          'PX',
          Math.max(1, Math.ceil(windowMs)),
        ),
      );
    },
    release: async (key) => {
      await this.command('idempotency store', () =>
        this.commands.eval(RELEASE_SCRIPT, 1, `${this.prefix}idem:${key}`, RUNNING),
      );
    },
  };

  /** Resolves once both connections are ready; useful before a test or a benchmark. */
  async ready(): Promise<void> {
    await this.links.ready();
  }

  async publish(key: string, payload: unknown): Promise<Publication> {
    if (this.closed) throw new BrokerError('broker is closed');
    const encoded = encodePayload(payload, this.codec);
    const [epoch, offset] = await this.command('publish', () =>
      this.commands.sbPublish(
        this.keyOf(key, 'log'),
        this.keyOf(key, 'epoch'),
        this.keyOf(key, 'seq'),
        this.channelOf(key),
        ...(this.links.sharded ? [this.keyOf(key, 'owner')] : []),
        deadlineFor(this.commandTimeoutMs),
        encoded,
        randomUUID(),
        this.historySize,
      ),
    );
    return { key, epoch: epoch.toString(), offset: Number(offset), payload };
  }

  async history(key: string, query: HistoryQuery): Promise<History> {
    return this.run('history', async () => {
      // Fix the epoch before anyone reads it, so that a position taken now stays valid later.
      await this.within(this.commands.set(this.keyOf(key, 'epoch'), randomUUID(), 'NX'));
      const [[, epoch], [, seq], [, first]] = (await this.within(
        this.commands
          .multi()
          .get(this.keyOf(key, 'epoch'))
          .get(this.keyOf(key, 'seq'))
          .xrange(this.keyOf(key, 'log'), '-', '+', 'COUNT', 1)
          .exec(),
      )) as [[unknown, string | null], [unknown, string | null], [unknown, [string, string[]][]]];
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
    });
  }

  async subscribe(
    key: string,
    listener: (publication: Publication) => void,
    options: ListenOptions = {},
  ): Promise<() => Promise<void>> {
    let followed = this.followed.get(key);
    if (!followed) {
      const follow = new KeyFollow(key, this.reader, this.onListenerError);
      // Subscribed before the head is read, so no publication falls between the two.
      const ready = this.within(this.links.subscribe(this.channelOf(key)), this.subscriberHeard).then(() =>
        follow.begin(),
      );
      followed = { follow, ready };
      this.followed.set(key, followed);
    }
    const mine = followed;
    try {
      await mine.ready;
    } catch (error) {
      if (this.followed.get(key) === mine) this.unfollow(key, mine.follow);
      throw new BrokerError(`redis subscribe failed: ${(error as Error).message}`);
    }
    // The last listener left while this one waited: follow the key afresh.
    if (this.followed.get(key) !== mine) return this.subscribe(key, listener, options);
    const listening = { listener, ...options };
    mine.follow.listening.add(listening);
    return async () => {
      mine.follow.listening.delete(listening);
      if (mine.follow.listening.size === 0 && this.followed.get(key) === mine)
        this.unfollow(key, mine.follow);
    };
  }

  async join(key: string, member: Member, ttlMs: number): Promise<void> {
    await this.command('presence', () =>
      this.commands.sbJoin(
        this.keyOf(key, 'presence'),
        this.keyOf(key, 'members'),
        this.channelOf(key, 'presence'),
        deadlineFor(this.commandTimeoutMs),
        Date.now() + ttlMs,
        member.connectionId,
        JSON.stringify(member),
        JSON.stringify({ type: 'join', member }),
      ),
    );
  }

  async leave(key: string, connectionId: string): Promise<void> {
    await this.command('presence', () =>
      this.commands.sbLeave(
        this.keyOf(key, 'presence'),
        this.keyOf(key, 'members'),
        this.channelOf(key, 'presence'),
        connectionId,
      ),
    );
  }

  /** Members whose last join is younger than its TTL; expired ones (a node that died) are removed and announced. */
  async members(key: string): Promise<Member[]> {
    return this.run('presence', async () => {
      const now = Date.now();
      const expired = await this.within(
        this.commands.zrangebyscore(this.keyOf(key, 'presence'), '-inf', now),
      );
      for (const connectionId of expired) await this.leave(key, connectionId);
      const live = await this.within(this.commands.zrangebyscore(this.keyOf(key, 'presence'), now, '+inf'));
      if (!live.length) return [];
      const members: Member[] = [];
      for (const entry of await this.within(this.commands.hmget(this.keyOf(key, 'members'), ...live))) {
        if (entry === null) continue;
        const member = readMember(entry);
        if (member.ok) members.push(member.value);
        else this.logger.warn('skipped a malformed presence member in Redis', { key, reason: member.reason });
      }
      return members;
    });
  }

  async onPresence(key: string, listener: (change: PresenceChange) => void): Promise<() => Promise<void>> {
    let roster = this.presenceListeners.get(key);
    if (!roster) {
      const channel = this.channelOf(key, 'presence');
      roster = {
        listeners: new Set(),
        ready: this.within(this.links.subscribe(channel), this.subscriberHeard),
      };
      this.presenceListeners.set(key, roster);
    }
    const mine = roster;
    const forget = () => {
      if (this.presenceListeners.get(key) !== mine) return;
      this.presenceListeners.delete(key);
      void this.links.unsubscribe(this.channelOf(key, 'presence')).catch(() => {
        // Unreachable or stalled: a message still arriving finds no listeners and is ignored.
      });
    };
    try {
      await mine.ready;
    } catch (error) {
      forget();
      throw new BrokerError(`redis presence subscribe failed: ${(error as Error).message}`);
    }
    if (this.presenceListeners.get(key) !== mine) return this.onPresence(key, listener);
    mine.listeners.add(listener);
    return async () => {
      mine.listeners.delete(listener);
      if (mine.listeners.size === 0) forget();
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const { follow } of this.followed.values()) follow.stop();
    this.followed.clear();
    this.links.disconnect();
  }

  /** One Redis command, bounded by `commandTimeoutMs`; any failure becomes a BrokerError. */
  private command<T>(what: string, send: () => Promise<T>): Promise<T> {
    return this.run(what, () => this.within(send()));
  }

  /**
   * Several Redis commands, each bounded by `within`: only Redis's silence counts, not the
   * decoding in between. Any failure becomes a BrokerError.
   */
  private async run<T>(what: string, operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      throw new BrokerError(`redis ${what} failed: ${(error as Error).message}`);
    }
  }

  /** Fails once Redis has been silent on the connection for `commandTimeoutMs` (see redis-timeout.ts). */
  private within<T>(operation: Promise<T>, heard = this.commandsHeard): Promise<T> {
    return withTimeout(operation, this.commandTimeoutMs, heard);
  }

  private unfollow(key: string, follow: KeyFollow): void {
    follow.stop();
    this.followed.delete(key);
    void this.links.unsubscribe(this.channelOf(key)).catch(() => {
      // Unreachable or stalled: a message still arriving on it finds no follow and is ignored.
    });
  }

  /** A message from Redis pub/sub: runs inside ioredis's handler, so nothing here may throw. */
  private received(channelBuffer: Buffer, message: Buffer): void {
    const channel = channelBuffer.toString();
    const dropped = (reason: string) =>
      this.logger.warn('dropped a malformed message from Redis', { channel, reason });
    if (channel.endsWith(PRESENCE_SUFFIX)) {
      const key = channel.slice(this.prefix.length + 1, -PRESENCE_SUFFIX.length);
      const listeners = this.presenceListeners.get(key)?.listeners;
      if (!listeners) return;
      const change = readPresenceChange(message.toString());
      if (!change.ok) {
        dropped(change.reason);
        return;
      }
      for (const listener of listeners) {
        try {
          listener(change.value);
        } catch (error) {
          this.onListenerError(error, key);
        }
      }
      return;
    }
    const key = channel.slice(this.prefix.length + 1, -PUBLICATION_SUFFIX.length);
    const followed = this.followed.get(key);
    if (!followed) return;
    const read = readPublicationMessage(message);
    if (!read.ok) {
      dropped(read.reason);
      return;
    }
    const payload = decodePayload(read.value.payload, this.codec);
    if (!payload.ok) {
      dropped(payload.reason);
      return;
    }
    followed.follow.arrived({
      key,
      epoch: read.value.epoch,
      offset: read.value.offset,
      payload: payload.value,
    });
  }

  private readonly reader: StreamReader = {
    head: async (key) => {
      const [epoch, seq] = await this.within(
        this.commands.mget(this.keyOf(key, 'epoch'), this.keyOf(key, 'seq')),
      );
      return { epoch: epoch ?? null, top: Number(seq ?? 0) };
    },
    range: (key, epoch, from, to) => this.range(key, epoch, from, to),
  };

  private async range(key: string, epoch: string, from: number, to: number): Promise<Publication[]> {
    if (to < from) return [];
    const entries = (await this.within(
      this.commands.xrangeBuffer(this.keyOf(key, 'log'), `0-${from}`, `0-${to}`),
    )) as [Buffer, Buffer[]][];
    const publications: Publication[] = [];
    for (const [id, fields] of entries) {
      const offset = offsetOf(id.toString());
      const payload = fields[1]
        ? decodePayload(fields[1], this.codec)
        : { ok: false as const, reason: 'no payload' };
      if (payload.ok) publications.push({ key, epoch, offset, payload: payload.value });
      else
        this.logger.error('skipped an unreadable publication in Redis', {
          key,
          offset,
          reason: payload.reason,
        });
    }
    return publications;
  }

  /**
   * `sb:{jobs.42.logs}:log`: the braces (a hash tag) keep all of a key's data in one Redis Cluster
   * slot. On a cluster a key that is empty or begins with `}` would make an empty tag, which
   * Redis ignores (the parts would spread over slots), so it is refused.
   */
  private keyOf(key: string, part: string): string {
    if (this.links.sharded && (key === '' || key.startsWith('}')))
      throw new BrokerError('on a Redis Cluster a key may not be empty or begin with `}`');
    return `${this.prefix}{${key}}:${part}`;
  }

  private channelOf(key: string, part = 'pub'): string {
    return this.keyOf(key, part);
  }
}

const PRESENCE_SUFFIX = '}:presence';
const PUBLICATION_SUFFIX = '}:pub';

/** The value of a claimed idempotency key while its call runs (an outcome is JSON, never this). */
const RUNNING = 'running';

/** A stored idempotent outcome; a value that is not one (written by something else) fails the claim. */
function readOutcome(value: string): StoredOutcome {
  const parsed = parseBoundedJson(value, DEFAULT_MAX_DEPTH);
  const outcome = parsed.ok ? (parsed.value as { ok?: unknown } | null) : null;
  if (typeof outcome !== 'object' || outcome === null || typeof outcome.ok !== 'boolean')
    throw new BrokerError('idempotency store holds a value that is not an outcome');
  return outcome as StoredOutcome;
}

function offsetOf(streamId: string): number {
  return Number(streamId.slice(streamId.indexOf('-') + 1));
}
