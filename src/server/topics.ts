import type { Broker, HistoryQuery, Position, PresenceChange, Publication } from '../broker/broker.js';
import { BrokerError } from '../broker/broker.js';
import type { BackpressurePolicy, NamedTopic, TopicRule } from '../protocol/define.js';
import { RequestError } from '../protocol/errors.js';
import { firstMissing } from '../protocol/permissions.js';
import { describeIssues, validate } from '../protocol/schema.js';
import { topicKey } from '../protocol/topic-key.js';
import { jsonDepthExceeds, valueDepthExceeds } from '../wire/bounded-json.js';
import type { Frame } from '../wire/format.js';
import type {
  PresenceMember,
  PublicationMessage,
  Publish,
  Subscribe,
  SubscribeFrom,
} from '../wire/message.js';
import type { Connection } from './connection.js';
import { newTraceId } from './errors.js';
import { type HeldPublications, heldPublications } from './held-publications.js';
import type { Runtime } from './runtime.js';

/** One connection's view of one key: buffered while its history is being sent, then live. */
/** How often connections with held publications are looked at. */
const DRAIN_INTERVAL_MS = 5;

interface Follower {
  /** Publications waiting for a slow follower of a topic with a queuing back-pressure policy. */
  held?: HeldPublications;
  /** The parameters it subscribed with, to check its permission again after a credential refresh. */
  readonly params: Readonly<Record<string, string>>;
  recovering: boolean;
  /**
   * Publications that reached this follower's turn but could not be encoded (a payload changed after
   * it was published): counted, and announced as `skipped` on the next one, so the gap is never silent.
   */
  unsent: number;
  readonly buffer: Publication[];
  /** Presence changes that arrived while recovering; replayed after `subscribed`. */
  readonly changes: PresenceChange[];
  last: Position;
}

interface KeyState {
  readonly topic: NamedTopic;
  readonly followers: Map<Connection, Follower>;
  /** On presence topics: the broker's roster events for this key. */
  readonly roster?: Promise<() => Promise<void>>;
  /** Resolves once the broker delivers this key to us; shared by concurrent first subscribers. */
  readonly listening: Promise<() => Promise<void>>;
}

/**
 * The server's topics: one broker subscription per key however many connections follow it, one
 * encoding per publication, and recovery from a position with an explicit gap signal.
 */
export class TopicHub {
  private readonly keys = new Map<string, KeyState>();

  constructor(
    private readonly runtime: Runtime,
    readonly broker: Broker,
  ) {}

  /** Resolves a topic name and parameters to its definition and key, or a request error. */
  resolve(topicName: string, params: unknown): { topic: NamedTopic; key: string } {
    const topic = this.runtime.protocol.topics.get(topicName);
    if (!topic)
      throw new RequestError('UNKNOWN_TOPIC', `unknown topic ${JSON.stringify(topicName).slice(0, 140)}`);
    const resolved = topicKey(topic, params);
    if ('error' in resolved) throw new RequestError('INVALID_INPUT', resolved.error);
    return { topic, key: resolved.key };
  }

  /**
   * Publishes from the server side (a handler or backend code); the payload must match the schema.
   * A publication is whole or refused: validated, depth-checked and encoded before the broker gives it
   * an offset, so every offset is one each subscriber can receive. A payload that cannot go out
   * (nested deeper than `maxDepth`, a BigInt, a cycle) is refused with `INVALID_INPUT`.
   */
  async publish(topicName: string, params: unknown, payload: unknown): Promise<Position> {
    const { topic, key } = this.resolve(topicName, params);
    const checked = await validate(topic.payload, payload);
    if (!checked.ok)
      throw new RequestError(
        'INVALID_INPUT',
        `invalid payload for ${topic.name}: ${describeIssues(checked.issues)}`,
        { issues: checked.issues },
      );
    const undeliverable = this.undeliverable(key, checked.value);
    if (undeliverable)
      throw new RequestError(
        'INVALID_INPUT',
        `payload for ${topic.name} cannot be delivered: ${undeliverable}`,
        {
          issues: [{ message: undeliverable, path: [] }],
        },
      );
    try {
      const publication = await this.broker.publish(key, checked.value);
      return { epoch: publication.epoch, offset: publication.offset };
    } catch (error) {
      if (error instanceof BrokerError)
        throw new RequestError('UNAVAILABLE', `broker unavailable: ${error.message}`);
      throw error;
    }
  }

  /** Why a payload could not reach subscribers as a publication frame of this server's wire, if it could not. */
  private undeliverable(key: string, payload: unknown): string | undefined {
    const { maxDepth } = this.runtime.limits;
    const tooDeep = `nested deeper than ${maxDepth} levels`;
    // First, without recursion: encoding recurses, and a cycle is infinitely deep.
    if (valueDepthExceeds(payload, maxDepth)) return tooDeep;
    let frame: Frame | null;
    try {
      frame = this.runtime.wire.encode({ type: 'publication', key, epoch: '', offset: 0, payload });
    } catch (error) {
      return `cannot be encoded (${error instanceof Error ? error.message : String(error)})`;
    }
    // The envelope adds a level: a frame the peers' decoders would refuse is not sent either.
    if (typeof frame === 'string' && jsonDepthExceeds(frame, maxDepth)) return tooDeep;
    return undefined;
  }

  async clientPublish(connection: Connection, message: Publish): Promise<Position> {
    const { topic } = this.resolve(message.topic, message.params);
    if (!topic.publish)
      throw new RequestError('PERMISSION_DENIED', `clients may not publish on ${topic.name}`);
    await this.authorize(connection, topic, topic.publish, message.params, 'publish on');
    return this.publish(message.topic, message.params, message.payload);
  }

  async subscribe(connection: Connection, message: Subscribe): Promise<void> {
    const { topic, key } = this.resolve(message.topic, message.params);
    if (topic.subscribe)
      await this.authorize(connection, topic, topic.subscribe, message.params, 'subscribe to');
    if (connection.topics.has(key)) throw new RequestError('INVALID_INPUT', `already subscribed to ${key}`);
    const { maxSubscriptions } = this.runtime.limits;
    if (connection.topics.size >= maxSubscriptions) {
      throw new RequestError(
        'TOO_MANY_SUBSCRIPTIONS',
        `at most ${maxSubscriptions} subscriptions per connection`,
        {
          limit: maxSubscriptions,
        },
      );
    }
    const state = this.keyState(key, topic);
    const follower: Follower = {
      params: message.params as Record<string, string>,
      recovering: true,
      unsent: 0,
      buffer: [],
      changes: [],
      last: { epoch: '', offset: 0 },
    };
    state.followers.set(connection, follower);
    connection.topics.add(key);
    try {
      await state.listening;
      let members: PresenceMember[] | undefined;
      if (state.roster) {
        await state.roster;
        await this.broker.join(key, memberOf(connection), this.runtime.limits.heartbeatTimeoutMs);
        members = (await this.broker.members(key)).map(({ connectionId, userId }) => ({
          connectionId,
          userId,
        }));
      }
      let history = await this.broker.history(key, query(message.from));
      const from = message.from;
      if (from && 'epoch' in from && (from.epoch !== history.epoch || from.offset > history.top)) {
        // The history the client knew is gone: offsets restarted, so send everything still kept.
        history = await this.broker.history(key, { after: 0 });
      }
      const { start, gap } = startOf(message.from, history);
      // Taken after the history bounds: publications from `start` on may already be in it, which
      // idempotent operations tolerate; none after it can be missing.
      const snapshot =
        topic.snapshot && (!message.from || gap) ? await topic.snapshot(message.params) : undefined;
      follower.last = { epoch: history.epoch, offset: start };
      connection.send({
        type: 'subscribed',
        id: message.id,
        key,
        epoch: history.epoch,
        offset: start,
        ...(gap ? { gap } : {}),
        ...(members ? { members } : {}),
        ...(snapshot === undefined ? {} : { snapshot }),
      });
      for (const change of follower.changes.splice(0)) this.announce(connection, key, change);
      for (const publication of history.publications) this.deliver(connection, follower, publication);
      for (const publication of follower.buffer.splice(0)) this.deliver(connection, follower, publication);
      follower.recovering = false;
    } catch (error) {
      this.drop(connection, key);
      if (error instanceof BrokerError)
        throw new RequestError('UNAVAILABLE', `broker unavailable: ${error.message}`);
      throw error;
    }
  }

  /**
   * After a credential refresh: ends, with `unsubscribed` PERMISSION_DENIED, each subscription of this
   * connection whose subscribe rule the new principal no longer passes.
   */
  async recheck(connection: Connection): Promise<void> {
    for (const key of [...connection.topics]) {
      const state = this.keys.get(key);
      const follower = state?.followers.get(connection);
      if (!state || !follower || !state.topic.subscribe) continue;
      try {
        await this.authorize(connection, state.topic, state.topic.subscribe, follower.params, 'subscribe to');
      } catch (error) {
        if (!connection.topics.has(key)) continue;
        this.drop(connection, key);
        const denied = error instanceof RequestError ? error : new RequestError('PERMISSION_DENIED');
        connection.send({ type: 'unsubscribed', key, code: denied.code, reason: denied.message });
      }
    }
  }

  unsubscribe(connection: Connection, key: string): void {
    this.drop(connection, key);
  }

  /** Forgets every subscription of a closed connection. */
  disconnect(connection: Connection): void {
    this.behind.delete(connection);
    for (const key of [...connection.topics]) this.drop(connection, key);
  }

  private async authorize(
    connection: Connection,
    topic: NamedTopic,
    rule: TopicRule,
    params: Readonly<Record<string, string>>,
    action: string,
  ): Promise<void> {
    const principal = connection.principal;
    if (typeof rule === 'function') {
      if (!(await rule(params, principal))) {
        throw new RequestError(
          'PERMISSION_DENIED',
          `${principal.id} may not ${action} ${topic.name} with these parameters`,
        );
      }
      return;
    }
    const missing = firstMissing(principal.permissions, typeof rule === 'string' ? [rule] : rule);
    if (missing) {
      throw new RequestError(
        'PERMISSION_DENIED',
        `${action} ${topic.name} requires permission "${missing}"`,
        {
          required: missing,
        },
      );
    }
  }

  /** Renews the presence of every local follower and lets the broker expire members of dead nodes. */
  async renewPresence(): Promise<void> {
    for (const [key, state] of this.keys) {
      if (!state.roster) continue;
      for (const connection of state.followers.keys()) {
        await this.broker.join(key, memberOf(connection), this.runtime.limits.heartbeatTimeoutMs);
      }
      await this.broker.members(key);
    }
  }

  private announce(connection: Connection, key: string, change: PresenceChange): void {
    const { connectionId, userId } = change.member;
    connection.send({ type: 'presence', key, change: change.type, member: { connectionId, userId } });
  }

  private keyState(key: string, topic: NamedTopic): KeyState {
    let state = this.keys.get(key);
    if (!state) {
      const followers = new Map<Connection, Follower>();
      const listening = this.broker.subscribe(key, (publication) => {
        try {
          this.fanOut(followers, publication, topic.backpressure);
        } catch (error) {
          // Per-connection faults end their connection inside fanOut; this is a bug of ours.
          this.runtime.logger.error('fan-out failed', { traceId: newTraceId(), key, error });
        }
      });
      const roster = topic.presence
        ? this.broker.onPresence(key, (change) => {
            for (const [connection, follower] of followers) {
              if (follower.recovering) follower.changes.push(change);
              else this.announce(connection, key, change);
            }
          })
        : undefined;
      roster?.catch(() => {
        // Reported to the subscriber that awaits it.
      });
      state = { topic, followers, listening, ...(roster ? { roster } : {}) };
      this.keys.set(key, state);
      // A failed broker subscription is reported to the subscriber that awaits it; forget the key.
      listening.catch(() => this.keys.get(key) === state && this.keys.delete(key));
    }
    return state;
  }

  private fanOut(
    followers: Map<Connection, Follower>,
    publication: Publication,
    policy: BackpressurePolicy | undefined,
  ): void {
    let frame: Frame | null | undefined;
    let encoded = false;
    let utf8: Uint8Array | undefined;
    const queuing = policy && policy.policy !== 'disconnect' ? policy : undefined;
    for (const [connection, follower] of followers) {
      if (follower.recovering) {
        follower.buffer.push(publication);
        continue;
      }
      if (!isNewer(publication, follower.last)) continue;
      if (
        queuing &&
        (follower.held?.size || connection.bufferedAmount > this.runtime.limits.backpressureBytes)
      ) {
        follower.held ??= heldPublications(queuing);
        follower.held.hold(publication);
        this.behind.add(connection);
        this.drainSoon();
        continue;
      }
      if (!encoded && follower.unsent === 0) {
        encoded = true;
        frame = this.encodeFor(connection, { type: 'publication', ...publication });
        if (typeof frame === 'string' && followers.size > 1) utf8 = Buffer.from(frame);
      }
      // A follower owed a `skipped` count (or one whose shared frame failed) gets a frame of its own.
      if (follower.unsent > 0 || frame === undefined) this.deliver(connection, follower, publication);
      else {
        if (frame !== null) sendGuarded(connection, frame, utf8);
        follower.last = publication;
      }
    }
  }

  /** Encodes a publication; one that cannot be encoded is logged and gives undefined. */
  private encodeFor(connection: Connection, message: PublicationMessage): Frame | null | undefined {
    try {
      return this.runtime.wire.encode(message);
    } catch (error) {
      this.runtime.logger.error('a publication could not be encoded; subscribers see it as skipped', {
        traceId: newTraceId(),
        connectionId: connection.id,
        key: message.key,
        offset: message.offset,
        error,
      });
      return undefined;
    }
  }

  /** Connections with held publications: drained as their sockets catch up. */
  private readonly behind = new Set<Connection>();
  private drainTimer: ReturnType<typeof setInterval> | undefined;

  private drainSoon(): void {
    if (this.drainTimer) return;
    // Sockets have no portable "drained" event: look every few ms while anyone is behind.
    this.drainTimer = setInterval(() => this.drain(), DRAIN_INTERVAL_MS);
    this.drainTimer.unref?.();
  }

  /** Sends held publications to each connection whose socket is below `backpressureBytes` again. */
  private drain(): void {
    const limit = this.runtime.limits.backpressureBytes;
    for (const connection of this.behind) {
      let waiting = false;
      for (const key of connection.topics) {
        const follower = this.keys.get(key)?.followers.get(connection);
        const held = follower?.held;
        if (!follower || !held) continue;
        while (held.size > 0 && connection.isOpen && connection.bufferedAmount <= limit) {
          const { publication, skipped } = held.next()!;
          this.deliver(connection, follower, publication, skipped);
        }
        if (held.size > 0 && connection.isOpen) waiting = true;
      }
      if (!waiting) this.behind.delete(connection);
    }
    if (this.behind.size === 0) {
      clearInterval(this.drainTimer);
      this.drainTimer = undefined;
    }
  }

  /** Publications held back for a connection, over all its topics (for monitoring and tests). */
  heldFor(connection: Connection): number {
    let total = 0;
    for (const key of connection.topics)
      total += this.keys.get(key)?.followers.get(connection)?.held?.size ?? 0;
    return total;
  }

  /**
   * Sends one publication to one follower, with the count of those skipped before it. One that cannot
   * be encoded (only a payload changed after it was published can be) is added to that count.
   */
  private deliver(connection: Connection, follower: Follower, publication: Publication, skipped = 0): void {
    if (!isNewer(publication, follower.last)) return;
    follower.last = publication;
    const owed = skipped + follower.unsent;
    const frame = this.encodeFor(connection, {
      type: 'publication',
      ...publication,
      ...(owed ? { skipped: owed } : {}),
    });
    if (frame === undefined) {
      follower.unsent = owed + 1;
      return;
    }
    follower.unsent = 0;
    if (frame !== null) sendGuarded(connection, frame);
  }

  private drop(connection: Connection, key: string): void {
    connection.topics.delete(key);
    const state = this.keys.get(key);
    if (!state) return;
    if (!state.followers.delete(connection)) return;
    if (state.roster) {
      this.broker.leave(key, connection.id).catch(() => {
        // The broker is unreachable: the member expires after its TTL instead.
      });
    }
    if (state.followers.size > 0) return;
    this.keys.delete(key);
    state.roster?.then((stop) => stop()).catch(() => {});
    state.listening
      .then((stop) => stop())
      .catch(() => {
        // The broker subscription never started or is already gone: nothing to stop.
      });
  }
}

/** Sends on one connection; a fault there ends that connection, not the fan-out (no closure: this is the hot path). */
function sendGuarded(connection: Connection, frame: Frame, utf8?: Uint8Array): void {
  try {
    connection.sendFrame(frame, utf8);
  } catch (error) {
    connection.fault('sending a publication', error);
  }
}

function memberOf(connection: Connection) {
  return { connectionId: connection.id, userId: connection.principal.id };
}

/** A publication is newer than a position in the same epoch with a greater offset, or in another epoch. */
function isNewer(publication: Position, last: Position): boolean {
  return publication.epoch !== last.epoch ? true : publication.offset > last.offset;
}

function query(from: SubscribeFrom | undefined): HistoryQuery {
  if (!from) return {};
  if ('last' in from) return { last: from.last };
  return { after: from.offset };
}

/** Where delivery starts, and whether publications between `from` and the kept history were lost. */
function startOf(
  from: SubscribeFrom | undefined,
  history: { epoch: string; top: number; first: number; publications: readonly Publication[] },
): { start: number; gap?: 'trimmed' | 'epoch' } {
  if (!from) return { start: history.top };
  if ('last' in from) return { start: (history.publications[0]?.offset ?? history.top + 1) - 1 };
  if (from.epoch !== history.epoch) return { start: history.first - 1, gap: 'epoch' };
  if (from.offset > history.top) return { start: history.first - 1, gap: 'epoch' };
  if (from.offset < history.first - 1) return { start: history.first - 1, gap: 'trimmed' };
  return { start: from.offset };
}
