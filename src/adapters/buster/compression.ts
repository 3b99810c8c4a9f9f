import { gzip, gzipSync } from 'node:zlib';

/**
 * Gzip for stream entries with a bound on the zlib contexts alive at once. Each context holds about
 * 256 KiB of native memory that a GC of the JS heap does not see, and glibc keeps much of it after
 * it is freed: 20,000 replies gzipped at once took a server from 99 MB to 2 GB for good. So a text
 * up to `syncMaxBytes` is gzipped at once (a small payload costs about 20 µs that way, against about
 * 100 µs through the thread pool, and its context is freed before the call returns), and a larger
 * one waits for one of `maxRunning` slots on the thread pool, in arrival order.
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
    if (this.running >= this.maxRunning) {
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else this.running++;
    try {
      return await new Promise<Uint8Array>((resolve, reject) =>
        gzip(input, (error, output) => (error ? reject(error) : resolve(output))),
      );
    } finally {
      // Hand the slot straight to the next in line, so `running` never drops below what is busy.
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}
