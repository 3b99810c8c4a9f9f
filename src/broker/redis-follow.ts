import type { BrokerGap, ListenOptions, Position, Publication } from './broker.js';

/** What following a key needs from Redis: its head and its kept publications. */
export interface StreamReader {
  /** The key's current epoch (null when Redis has none, e.g. just restarted) and newest offset. */
  head(key: string): Promise<{ epoch: string | null; top: number }>;
  /** The kept publications `from..to` of the key, in offset order (unreadable entries left out). */
  range(key: string, epoch: string, from: number, to: number): Promise<Publication[]>;
}

interface Listening extends ListenOptions {
  readonly listener: (publication: Publication) => void;
}

/** How long after a failed read (Redis unreachable or stalled) a follow reads the head again. */
const RETRY_AFTER_MS = 1000;

/**
 * One node's delivery of one key to its local listeners. It remembers the last position delivered;
 * pub/sub messages are hints, the stream is the truth: a message that skips ahead is filled from
 * the stream, one in another epoch makes it read the key's head, and a gap (history lost, or
 * trimmed past) is told to every listener before delivery resumes. Steps run one after another,
 * so listeners see positions in order, each once.
 */
export class KeyFollow {
  readonly listening = new Set<Listening>();
  private epoch = '';
  private last = 0;
  /** False until the head was read after subscribing: messages before that are part of it. */
  private begun = false;
  private stopped = false;
  private chain: Promise<void> = Promise.resolve();
  private retry: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly key: string,
    private readonly reader: StreamReader,
    private readonly onListenerError: (error: unknown, key: string) => void,
  ) {}

  /** Takes the key's head as the starting point: live delivery begins after it. */
  begin(): Promise<void> {
    return this.enqueue(async () => {
      const head = await this.reader.head(this.key);
      this.epoch = head.epoch ?? '';
      this.last = head.top;
      this.begun = true;
    }, false);
  }

  /** A publication announced on the key's channel. */
  arrived(publication: Publication): void {
    if (this.begun) void this.enqueue(() => this.arrive(publication));
  }

  /** Reads the head and delivers whatever was missed: after a reconnect, or a failed read. */
  resync(): void {
    if (this.begun) void this.enqueue(() => this.catchUp());
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retry);
  }

  private async arrive(publication: Publication): Promise<void> {
    if (publication.epoch !== this.epoch) return this.catchUp();
    if (publication.offset <= this.last) return;
    if (publication.offset === this.last + 1) return this.deliver(publication);
    // Pub/sub dropped some (a reconnect): the stream has them, and this one too.
    const missed = await this.reader.range(this.key, this.epoch, this.last + 1, publication.offset);
    const first = missed[0]?.offset;
    if (first !== undefined && first > this.last + 1) this.gap('trimmed', first - 1);
    for (const each of missed) this.deliver(each);
  }

  private async catchUp(): Promise<void> {
    const head = await this.reader.head(this.key);
    // History is gone and no new epoch yet: the first publication of the next one will tell.
    if (!head.epoch) return;
    if (head.epoch === this.epoch) {
      if (head.top <= this.last) return;
      const missed = await this.reader.range(this.key, this.epoch, this.last + 1, head.top);
      const first = missed[0]?.offset ?? head.top + 1;
      if (first > this.last + 1) this.gap('trimmed', first - 1);
      for (const each of missed) this.deliver(each);
      return;
    }
    const kept = await this.reader.range(this.key, head.epoch, 1, head.top);
    const had = this.epoch !== '';
    const from: Position = { epoch: this.epoch, offset: this.last };
    this.epoch = head.epoch;
    this.last = (kept[0]?.offset ?? head.top + 1) - 1;
    // A key that had no epoch when we began lost nothing: its first epoch is not a gap.
    if (had) this.tell({ reason: 'epoch', from, resumedAt: { epoch: this.epoch, offset: this.last } });
    for (const each of kept) this.deliver(each);
  }

  private gap(reason: 'trimmed', resumedAt: number): void {
    const from: Position = { epoch: this.epoch, offset: this.last };
    this.last = resumedAt;
    this.tell({ reason, from, resumedAt: { epoch: this.epoch, offset: resumedAt } });
  }

  private tell(gap: BrokerGap): void {
    for (const { onGap } of this.listening) if (onGap) this.call(() => onGap(gap));
  }

  private deliver(publication: Publication): void {
    if (publication.offset <= this.last) return;
    this.last = publication.offset;
    for (const { listener } of this.listening) this.call(() => listener(publication));
  }

  /** Listeners are isolated from each other: one that throws is reported, the others still hear. */
  private call(listener: () => void): void {
    try {
      listener();
    } catch (error) {
      this.onListenerError(error, this.key);
    }
  }

  private enqueue(step: () => Promise<void>, retryOnFailure = true): Promise<void> {
    const run = this.chain.then(() => (this.stopped ? undefined : step()));
    this.chain = run.catch(() => {
      // Redis unreachable or stalled mid-step: read the head again soon, from `last`.
      if (retryOnFailure) this.retrySoon();
    });
    return run;
  }

  private retrySoon(): void {
    if (this.stopped || this.retry) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      this.resync();
    }, RETRY_AFTER_MS);
    this.retry.unref?.();
  }
}
