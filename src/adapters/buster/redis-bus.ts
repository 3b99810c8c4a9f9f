import { Redis, type RedisOptions } from 'ioredis';
import { type StreamBus, StreamBusError, type StreamEntry, type StreamReader } from './bus.js';

export interface RedisStreamBusOptions {
  /** A `redis://` URL or ioredis options; readers open their own connections with the same settings. */
  readonly redis: string | RedisOptions;
}

/**
 * The bus on Redis, issuing the commands Buster's `ws_utils.rs` issues. The only file of the
 * Buster adapter that loads ioredis, so memory users never do.
 */
export class RedisStreamBus implements StreamBus {
  private readonly commands: Redis;

  constructor(private readonly options: RedisStreamBusOptions) {
    this.commands = this.connect({ maxRetriesPerRequest: 1 });
  }

  async add(
    stream: string,
    fields: Readonly<Record<string, string | Uint8Array>>,
    maxLen: number,
  ): Promise<string> {
    const args: (string | Buffer)[] = [];
    for (const [name, value] of Object.entries(fields)) {
      args.push(
        name,
        typeof value === 'string' ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength),
      );
    }
    const id = await guard(this.commands.xadd(stream, 'MAXLEN', '~', String(maxLen), '*', ...args));
    return String(id);
  }

  async createGroup(stream: string, group: string): Promise<boolean> {
    try {
      await this.commands.xgroup('CREATE', stream, group, '$', 'MKSTREAM');
      return true;
    } catch (error) {
      if (codeOf(error) === 'BUSYGROUP') return false;
      throw toBusError(error);
    }
  }

  async destroyGroup(stream: string, group: string): Promise<void> {
    try {
      await this.commands.xgroup('DESTROY', stream, group);
    } catch (error) {
      // "The XGROUP subcommand requires the key to exist": nothing left to destroy.
      if (/requires the key to exist/i.test(messageOf(error))) return;
      throw toBusError(error);
    }
  }

  async groupCount(stream: string): Promise<number> {
    try {
      const groups = (await this.commands.xinfo('GROUPS', stream)) as unknown[];
      return groups.length;
    } catch (error) {
      // XINFO on a missing key fails with "no such key": a stream that is gone has no groups.
      if (/no such key/i.test(messageOf(error))) return 0;
      throw toBusError(error);
    }
  }

  async trim(stream: string): Promise<void> {
    await guard(this.commands.xtrim(stream, 'MAXLEN', 0));
  }

  async del(key: string): Promise<void> {
    await guard(this.commands.del(key));
  }

  async set(key: string, value: string, ttlSeconds: number): Promise<void> {
    // Two commands, as Buster's set_key_value issues them.
    await guard(this.commands.set(key, value));
    await guard(this.commands.expire(key, ttlSeconds));
  }

  async get(key: string): Promise<string | null> {
    return guard(this.commands.get(key));
  }

  reader(): StreamReader {
    // BLOCK holds a connection for up to its timeout: each reader gets its own.
    const connection = this.connect({ maxRetriesPerRequest: 1 });
    let closed = false;
    return {
      async read(group, consumer, streams, count, blockMs) {
        if (closed) throw new StreamBusError('CLOSED', 'reader closed');
        let reply: unknown;
        try {
          reply = await connection.xreadgroupBuffer(
            'GROUP',
            group,
            consumer,
            'COUNT',
            count,
            'BLOCK',
            blockMs,
            'STREAMS',
            ...streams,
            ...streams.map(() => '>'),
          );
        } catch (error) {
          if (closed) throw new StreamBusError('CLOSED', 'reader closed');
          throw toBusError(error);
        }
        return toEntries(reply);
      },
      close() {
        if (closed) return;
        closed = true;
        // Rejects a pending XREADGROUP at once; quit() would wait for BLOCK to run out.
        connection.disconnect();
      },
    };
  }

  async close(): Promise<void> {
    await this.commands.quit().catch(() => {
      // Already disconnected: nothing to release.
    });
  }

  private connect(extra: RedisOptions): Redis {
    const { redis } = this.options;
    // RESP2 keeps XREADGROUP's reply as [[stream, [[id, fields]]]] whatever the ioredis default.
    const settings: RedisOptions = { ...extra, protocol: 2 };
    const client =
      typeof redis === 'string' ? new Redis(redis, settings) : new Redis({ ...redis, ...settings });
    // ioredis reconnects by itself; failures surface as rejected commands, handled by callers.
    client.on('error', () => {});
    return client;
  }
}

function toEntries(reply: unknown): StreamEntry[] {
  if (!Array.isArray(reply)) return [];
  const out: StreamEntry[] = [];
  for (const item of reply as [Buffer, [Buffer, Buffer[] | null][]][]) {
    const [stream, entries] = item;
    for (const [id, flat] of entries) {
      const fields = new Map<string, Uint8Array>();
      const list = flat ?? [];
      for (let i = 0; i + 1 < list.length; i += 2) fields.set(String(list[i]), list[i + 1] as Buffer);
      out.push({ stream: String(stream), id: String(id), fields });
    }
  }
  return out;
}

async function guard<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    throw toBusError(error);
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Redis replies start with their code (`NOGROUP No such key…`); connection failures have none. */
function codeOf(error: unknown): string {
  const first = messageOf(error).split(' ')[0] ?? '';
  return /^[A-Z]+$/.test(first) ? first : 'UNAVAILABLE';
}

function toBusError(error: unknown): StreamBusError {
  return error instanceof StreamBusError ? error : new StreamBusError(codeOf(error), messageOf(error));
}
