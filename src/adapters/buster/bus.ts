/**
 * The Redis stream operations Buster's `ws_utils.rs` uses, as a small interface so that one
 * process can run on memory and several on Redis with the same behaviour. Two implementations:
 * `MemoryStreamBus` (memory-bus.ts) and `RedisStreamBus` (redis-bus.ts, the only file that loads ioredis).
 */

/** One stream entry as XREADGROUP returns it: field → raw bytes. */
export interface StreamEntry {
  readonly stream: string;
  readonly id: string;
  readonly fields: ReadonlyMap<string, Uint8Array>;
}

/** An error from the bus; `code` is Redis's error prefix (`NOGROUP`, `BUSYGROUP`…) or `CLOSED`. */
export class StreamBusError extends Error {
  override readonly name = 'StreamBusError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * A blocking reader. On Redis it holds a connection of its own, since `BLOCK` ties it up;
 * so every WebSocket connection has its own reader.
 */
export interface StreamReader {
  /**
   * `XREADGROUP GROUP <group> <consumer> COUNT <count> BLOCK <blockMs> STREAMS <streams…> > >…`:
   * entries no consumer of the group has seen, or [] after `blockMs` without any. Rejects with a
   * StreamBusError (`NOGROUP` when a stream or its group is gone), and with `CLOSED` once closed.
   */
  read(
    group: string,
    consumer: string,
    streams: readonly string[],
    count: number,
    blockMs: number,
  ): Promise<StreamEntry[]>;
  /** Ends a pending read at once (with `CLOSED`) and releases the reader's connection. */
  close(): void;
}

/** The commands Buster issues, one method each. */
export interface StreamBus {
  /** `XADD <stream> MAXLEN ~ <maxLen> * <field> <value> …`; resolves with the entry id. */
  add(stream: string, fields: Readonly<Record<string, string | Uint8Array>>, maxLen: number): Promise<string>;
  /** `XGROUP CREATE <stream> <group> $ MKSTREAM`: true when created, false when it already existed. */
  createGroup(stream: string, group: string): Promise<boolean>;
  /** `XGROUP DESTROY <stream> <group>`; a missing stream or group is not an error. */
  destroyGroup(stream: string, group: string): Promise<void>;
  /** How many groups `XINFO GROUPS <stream>` lists; 0 when the stream does not exist. */
  groupCount(stream: string): Promise<number>;
  /** `XTRIM <stream> MAXLEN 0`. */
  trim(stream: string): Promise<void>;
  /** `DEL <key>`. */
  del(key: string): Promise<void>;
  /** `SET <key> <value>` then `EXPIRE <key> <ttlSeconds>` (Buster's `set_key_value`, 3600 s). */
  set(key: string, value: string, ttlSeconds: number): Promise<void>;
  /** `GET <key>`; null when missing or expired. */
  get(key: string): Promise<string | null>;
  /** A new blocking reader (one per WebSocket connection). */
  reader(): StreamReader;
  /** Releases the bus's own connections; readers are closed by their owners. */
  close(): Promise<void>;
}
