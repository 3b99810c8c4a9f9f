import { gunzip, gunzipSync, gzip, gzipSync } from 'node:zlib';

/**
 * Gzip and gunzip for stream entries with a bound on the zlib contexts alive at once. Each context holds about
 * 256 KiB of native memory that a GC of the JS heap does not see, and glibc keeps much of it after
 * it is freed: 20,000 replies gzipped at once took a server from 99 MB to 2 GB for good. So a text
 * up to `syncMaxBytes` is gzipped at once (a small payload costs about 20 µs that way, against about
 * 100 µs through the thread pool, and its context is freed before the call returns), and a larger
 * one waits for one of `maxRunning` slots on the thread pool, in arrival order. Reading an entry
 * back works the same way, the output size deciding.
 * The same reasoning makes `ws` limit permessage-deflate to 10 concurrent zlib calls.
 */
export class GzipQueue {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly maxRunning: number,
    private readonly syncMaxBytes: number,
  ) {}

  /** Compressions waiting for a slot (large texts only). */
  get queued(): number {
    return this.waiting.length;
  }

  async gzip(text: string): Promise<Uint8Array> {
    const input = Buffer.from(text, 'utf8');
    if (input.byteLength <= this.syncMaxBytes) return gzipSync(input);
    return this.inSlot((done) => gzip(input, done));
  }

  /** Rejects when `data` is not gzip. */
  async gunzip(data: Uint8Array): Promise<Buffer> {
    if (data.byteLength <= this.syncMaxBytes) {
      try {
        return gunzipSync(data, { maxOutputLength: this.syncMaxBytes });
      } catch (error) {
        // Larger once inflated: the thread pool, in a slot. Anything else is not gzip.
        if ((error as { code?: string }).code !== 'ERR_BUFFER_TOO_LARGE') throw error;
      }
    }
    return this.inSlot((done) => gunzip(data, done));
  }

  private async inSlot(work: (done: (error: Error | null, output: Buffer) => void) => void): Promise<Buffer> {
    if (this.running >= this.maxRunning) {
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else this.running++;
    try {
      return await new Promise<Buffer>((resolve, reject) =>
        work((error, output) => (error ? reject(error) : resolve(output))),
      );
    } finally {
      // Hand the slot straight to the next in line, so `running` never drops below what is busy.
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}
