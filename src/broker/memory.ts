import { randomUUID } from 'node:crypto';
import {
  type Broker,
  BrokerError,
  type History,
  type HistoryQuery,
  type Member,
  type PresenceChange,
  type Publication,
} from './broker.js';
import { MemoryIdempotencyStore } from './idempotency.js';

interface Log {
  top: number;
  /** The newest `historySize` publications, oldest first. */
  readonly kept: Publication[];
  readonly listeners: Set<(publication: Publication) => void>;
}

interface Presence {
  readonly members: Map<string, { member: Member; expiresAt: number }>;
  readonly listeners: Set<(change: PresenceChange) => void>;
}

export interface MemoryBrokerOptions {
  /** Publications kept per key for recovery. Default 1000. */
  readonly historySize?: number;
  /**
   * Told when a listener throws. The other listeners are called all the same; the publish (or join,
   * leave) still succeeds. Default: one JSON line on stderr. A server that makes its own broker
   * passes its logger here.
   */
  readonly onListenerError?: (error: unknown, key: string) => void;
}

function logListenerError(error: unknown, key: string): void {
  const cause =
    error instanceof Error ? { name: error.name, message: error.message, stack: error.stack } : String(error);
  console.error(
    JSON.stringify({
      level: 'error',
      time: new Date().toISOString(),
      message: 'a broker listener threw',
      key,
      error: cause,
    }),
  );
}

/**
 * The embedded default: one process, bounded history per key, nothing to install.
 * Listeners are called synchronously in publish order, so offsets arrive in order by construction;
 * each is isolated from the others: one that throws is reported and the rest are still called.
 */
export class MemoryBroker implements Broker {
  /** New per broker: a restarted process has lost its history, and subscribers must be told. */
  private epoch = randomUUID();
  private readonly logs = new Map<string, Log>();
  private readonly presence = new Map<string, Presence>();
  private readonly historySize: number;
  private readonly onListenerError: (error: unknown, key: string) => void;
  private closed = false;
  /** Idempotent calls of every server sharing this broker in this process. */
  readonly idempotency = new MemoryIdempotencyStore();

  constructor(options: MemoryBrokerOptions = {}) {
    this.historySize = options.historySize ?? 1000;
    this.onListenerError = options.onListenerError ?? logListenerError;
  }

  async publish(key: string, payload: unknown): Promise<Publication> {
    if (this.closed) throw new BrokerError('broker is closed');
    const log = this.log(key);
    const publication: Publication = { key, epoch: this.epoch, offset: ++log.top, payload };
    log.kept.push(publication);
    if (log.kept.length > this.historySize) log.kept.splice(0, log.kept.length - this.historySize);
    this.notify(key, log.listeners, publication);
    return publication;
  }

  async history(key: string, query: HistoryQuery): Promise<History> {
    const log = this.logs.get(key);
    const top = log?.top ?? 0;
    const kept = log?.kept ?? [];
    const first = kept[0]?.offset ?? top + 1;
    let publications: Publication[] = [];
    if ('after' in query && query.after !== undefined)
      publications = kept.filter((p) => p.offset > query.after);
    else if ('last' in query && query.last !== undefined)
      publications = query.last > 0 ? kept.slice(-query.last) : [];
    return { epoch: this.epoch, top, first, publications };
  }

  async subscribe(key: string, listener: (publication: Publication) => void): Promise<() => Promise<void>> {
    const log = this.log(key);
    log.listeners.add(listener);
    return async () => {
      log.listeners.delete(listener);
    };
  }

  async join(key: string, member: Member, ttlMs: number): Promise<void> {
    const presence = this.presenceOf(key);
    const known = presence.members.has(member.connectionId);
    presence.members.set(member.connectionId, { member, expiresAt: Date.now() + ttlMs });
    if (!known) this.notify(key, presence.listeners, { type: 'join', member });
  }

  async leave(key: string, connectionId: string): Promise<void> {
    const presence = this.presence.get(key);
    const entry = presence?.members.get(connectionId);
    if (!presence || !entry) return;
    presence.members.delete(connectionId);
    this.notify(key, presence.listeners, { type: 'leave', member: entry.member });
  }

  async members(key: string): Promise<Member[]> {
    const presence = this.presence.get(key);
    if (!presence) return [];
    const now = Date.now();
    for (const [id, entry] of presence.members) if (entry.expiresAt <= now) await this.leave(key, id);
    return [...presence.members.values()].map((entry) => entry.member);
  }

  async onPresence(key: string, listener: (change: PresenceChange) => void): Promise<() => Promise<void>> {
    const presence = this.presenceOf(key);
    presence.listeners.add(listener);
    return async () => {
      presence.listeners.delete(listener);
    };
  }

  /** Forgets all history and starts a new epoch, as a restart without persistence would. For tests. */
  restart(): void {
    this.epoch = randomUUID();
    for (const log of this.logs.values()) {
      log.top = 0;
      log.kept.length = 0;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /** Calls every listener, whatever the ones before it throw. */
  private notify<T>(key: string, listeners: Iterable<(value: T) => void>, value: T): void {
    for (const listener of listeners) {
      try {
        listener(value);
      } catch (error) {
        try {
          this.onListenerError(error, key);
        } catch {
          // A reporter that throws must not stop delivery either; there is nowhere left to report.
        }
      }
    }
  }

  private log(key: string): Log {
    let log = this.logs.get(key);
    if (!log) {
      log = { top: 0, kept: [], listeners: new Set() };
      this.logs.set(key, log);
    }
    return log;
  }

  private presenceOf(key: string): Presence {
    let presence = this.presence.get(key);
    if (!presence) {
      presence = { members: new Map(), listeners: new Set() };
      this.presence.set(key, presence);
    }
    return presence;
  }
}
