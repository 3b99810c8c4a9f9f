import { type StreamBus, StreamBusError, type StreamEntry, type StreamReader } from './bus.js';

interface MemoryEntry {
  /** Position in the stream since it was created; ids compare by it. */
  readonly seq: number;
  readonly id: string;
  readonly fields: ReadonlyMap<string, Uint8Array>;
}

interface MemoryStream {
  entries: MemoryEntry[];
  /** Sequence number of the last entry ever added (trimmed or not). */
  last: number;
  lastMs: number;
  lastIdSeq: number;
  /** Group → sequence number of the last entry delivered to it. */
  readonly groups: Map<string, number>;
}

const encoder = new TextEncoder();

/**
 * The bus in one process, with Redis's semantics for what Buster uses: `$` groups see only later
 * entries, each group reads each entry once, a read on a missing stream or group fails with
 * NOGROUP (a blocked one too, once its group is destroyed, as Redis 7 does), and `MAXLEN ~ n`
 * keeps exactly the last n entries (Redis may keep a few more).
 */
export class MemoryStreamBus implements StreamBus {
  private readonly streams = new Map<string, MemoryStream>();
  private readonly values = new Map<string, { value: string; expiresAt: number }>();
  /** Blocked reads per stream, woken by an add, a destroyed group or a deleted key. */
  private readonly waiters = new Map<string, Set<() => void>>();

  async add(
    stream: string,
    fields: Readonly<Record<string, string | Uint8Array>>,
    maxLen: number,
  ): Promise<string> {
    const target = this.streams.get(stream) ?? this.create(stream);
    const now = Date.now();
    // Redis ids are <ms>-<seq>, strictly increasing even when the clock stands still.
    if (now > target.lastMs) {
      target.lastMs = now;
      target.lastIdSeq = 0;
    } else target.lastIdSeq++;
    const id = `${target.lastMs}-${target.lastIdSeq}`;
    const map = new Map<string, Uint8Array>();
    for (const [name, value] of Object.entries(fields)) {
      map.set(name, typeof value === 'string' ? encoder.encode(value) : Uint8Array.from(value));
    }
    target.entries.push({ seq: ++target.last, id, fields: map });
    if (target.entries.length > maxLen) target.entries.splice(0, target.entries.length - maxLen);
    this.wake(stream);
    return id;
  }

  async createGroup(stream: string, group: string): Promise<boolean> {
    const target = this.streams.get(stream) ?? this.create(stream);
    if (target.groups.has(group)) return false;
    target.groups.set(group, target.last);
    return true;
  }

  async destroyGroup(stream: string, group: string): Promise<void> {
    if (this.streams.get(stream)?.groups.delete(group)) this.wake(stream);
  }

  async groupCount(stream: string): Promise<number> {
    return this.streams.get(stream)?.groups.size ?? 0;
  }

  async trim(stream: string): Promise<void> {
    const target = this.streams.get(stream);
    if (target) target.entries = [];
  }

  async del(key: string): Promise<void> {
    this.values.delete(key);
    if (this.streams.delete(key)) this.wake(key);
  }

  async set(key: string, value: string, ttlSeconds: number): Promise<void> {
    this.values.set(key, { value, expiresAt: Date.now() + ttlSeconds * 1000 });
  }

  async get(key: string): Promise<string | null> {
    const entry = this.values.get(key);
    if (!entry) return null;
    if (entry.expiresAt <= Date.now()) {
      this.values.delete(key);
      return null;
    }
    return entry.value;
  }

  reader(): StreamReader {
    let closed = false;
    let cancel: (() => void) | undefined;
    return {
      read: async (group, consumer, streams, count, blockMs) => {
        if (closed) throw new StreamBusError('CLOSED', 'reader closed');
        const first = this.collect(group, consumer, streams, count);
        if (first.length) return first;
        await new Promise<void>((resolve) => {
          const done = () => {
            clearTimeout(timer);
            for (const stream of streams) this.waiters.get(stream)?.delete(done);
            cancel = undefined;
            resolve();
          };
          const timer = setTimeout(done, blockMs);
          for (const stream of streams) {
            const set = this.waiters.get(stream) ?? new Set();
            this.waiters.set(stream, set);
            set.add(done);
          }
          cancel = done;
        });
        if (closed) throw new StreamBusError('CLOSED', 'reader closed');
        return this.collect(group, consumer, streams, count);
      },
      close: () => {
        closed = true;
        cancel?.();
      },
    };
  }

  async close(): Promise<void> {
    for (const set of this.waiters.values()) for (const wake of [...set]) wake();
  }

  /** Keys of the streams that exist now, for tests and debugging. */
  keys(): string[] {
    return [...this.streams.keys()];
  }

  /** Every entry a stream holds now, oldest first (XRANGE - +). */
  range(stream: string): StreamEntry[] {
    return (this.streams.get(stream)?.entries ?? []).map((entry) => ({
      stream,
      id: entry.id,
      fields: entry.fields,
    }));
  }

  /** The group names on a stream (XINFO GROUPS). */
  groups(stream: string): string[] {
    return [...(this.streams.get(stream)?.groups.keys() ?? [])];
  }

  /** Whether a plain key (SET) exists. */
  hasValue(key: string): boolean {
    return this.values.has(key);
  }

  private create(stream: string): MemoryStream {
    const created: MemoryStream = { entries: [], last: 0, lastMs: 0, lastIdSeq: 0, groups: new Map() };
    this.streams.set(stream, created);
    return created;
  }

  /** COUNT applies per stream, as in Redis; every stream must exist with the group. */
  private collect(
    group: string,
    _consumer: string,
    streams: readonly string[],
    count: number,
  ): StreamEntry[] {
    const out: StreamEntry[] = [];
    for (const name of streams) {
      const target = this.streams.get(name);
      const seen = target?.groups.get(group);
      if (!target || seen === undefined) {
        throw new StreamBusError(
          'NOGROUP',
          `No such key '${name}' or consumer group '${group}' in XREADGROUP with GROUP option`,
        );
      }
      let taken = 0;
      let last = seen;
      for (const entry of target.entries) {
        if (entry.seq <= seen) continue;
        if (taken === count) break;
        out.push({ stream: name, id: entry.id, fields: entry.fields });
        last = entry.seq;
        taken++;
      }
      target.groups.set(group, last);
    }
    return out;
  }

  private wake(stream: string): void {
    const set = this.waiters.get(stream);
    if (set) for (const wake of [...set]) wake();
  }
}
