/**
 * The last `capacity` items appended, oldest first: a ring, so appending to a full scrollback costs
 * the same as to an empty one. A capacity of 0 keeps nothing.
 *
 * @example
 * const log = new Scrollback<string>(2);
 * log.append('a'); log.append('b'); log.append('c');
 * log.items(); // → ['b', 'c']
 */
export class Scrollback<T> {
  private readonly ring: T[] = [];
  /** Where the oldest item is once the ring is full. */
  private start = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 0)
      throw new TypeError(`scrollback capacity must be a non-negative integer, got ${capacity}`);
  }

  /** How many items it holds now (at most `capacity`). */
  get size(): number {
    return this.ring.length;
  }

  /** Adds an item as the newest, forgetting the oldest when full. */
  append(item: T): void {
    if (this.capacity === 0) return;
    if (this.ring.length < this.capacity) {
      this.ring.push(item);
      return;
    }
    this.ring[this.start] = item;
    this.start = (this.start + 1) % this.capacity;
  }

  /** A copy, oldest first. */
  items(): T[] {
    return [...this.ring.slice(this.start), ...this.ring.slice(0, this.start)];
  }
}
