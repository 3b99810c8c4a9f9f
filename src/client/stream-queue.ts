/**
 * Items pushed by the connection, pulled by a `for await` loop. Ends with `end()` or `fail()`.
 * Leaving the loop early calls `onReturn`, which tells the server to stop.
 */
export class StreamQueue<T> implements AsyncIterableIterator<T> {
  private readonly items: T[] = [];
  private waiting:
    | { resolve: (step: IteratorResult<T>) => void; reject: (error: unknown) => void }
    | undefined;
  private done = false;
  private failure: unknown;

  constructor(
    private readonly onReturn: () => void,
    /** Called each time the consumer takes an item: what flow-control credit counts. */
    private readonly onTake: () => void = () => {},
  ) {}

  push(item: T): void {
    if (this.done) return;
    const waiting = this.waiting;
    if (waiting) {
      this.waiting = undefined;
      waiting.resolve({ value: item, done: false });
      this.onTake();
    } else this.items.push(item);
  }

  end(): void {
    this.settle(undefined);
  }

  fail(error: unknown): void {
    this.settle(error ?? new Error('stream failed'));
  }

  private settle(error: unknown): void {
    if (this.done) return;
    this.done = true;
    this.failure = error;
    const waiting = this.waiting;
    this.waiting = undefined;
    if (!waiting) return;
    if (error === undefined) waiting.resolve({ value: undefined, done: true });
    else waiting.reject(error);
  }

  next(): Promise<IteratorResult<T>> {
    if (this.items.length) {
      const item = this.items.shift() as T;
      this.onTake();
      return Promise.resolve({ value: item, done: false });
    }
    if (this.done) {
      if (this.failure === undefined) return Promise.resolve({ value: undefined, done: true });
      const failure = this.failure;
      this.failure = undefined;
      return Promise.reject(failure);
    }
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
    });
  }

  return(): Promise<IteratorResult<T>> {
    if (!this.done) {
      this.done = true;
      this.items.length = 0;
      // A next() already waiting would otherwise wait forever: nothing can push once done.
      const waiting = this.waiting;
      this.waiting = undefined;
      waiting?.resolve({ value: undefined, done: true });
      this.onReturn();
    }
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}
