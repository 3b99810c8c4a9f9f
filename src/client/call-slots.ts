/** A call that may hold one of the connection's slots. */
export interface Slotted {
  holdsSlot: boolean;
}

/**
 * The server's `maxInFlight` on one connection: a call past it would be refused (TOO_MANY_IN_FLIGHT),
 * so it waits here, in call order, until a running call ends. A call holds its slot from the moment
 * it is handed to the outbox until its reply, failure or cancel.
 */
export class CallSlots<C extends Slotted> {
  private max = Number.POSITIVE_INFINITY;
  private running = 0;
  private readonly waiting: C[] = [];

  /** Applies the welcome's limit; a server that announces no usable one gets no gate. */
  start(maxInFlight: number): void {
    this.max = maxInFlight >= 1 && Number.isFinite(maxInFlight) ? maxInFlight : Number.POSITIVE_INFINITY;
  }

  /** Takes a slot for `call` and says it may go, or queues it behind the others waiting. */
  admit(call: C): boolean {
    if (this.waiting.length === 0 && this.running < this.max) {
      this.running++;
      call.holdsSlot = true;
      return true;
    }
    this.waiting.push(call);
    return false;
  }

  /** `call` ended: its slot (or its place in line) is freed. Returns the calls that may go now, in order. */
  release(call: C): C[] {
    if (call.holdsSlot) {
      call.holdsSlot = false;
      this.running--;
    } else {
      const at = this.waiting.indexOf(call);
      if (at >= 0) this.waiting.splice(at, 1);
    }
    const next: C[] = [];
    while (this.waiting.length > 0 && this.running < this.max) {
      const admitted = this.waiting.shift()!;
      this.running++;
      admitted.holdsSlot = true;
      next.push(admitted);
    }
    return next;
  }

  /** The connection is gone, and every slot with it: the calls that were waiting, in order. */
  close(): C[] {
    this.running = 0;
    this.max = Number.POSITIVE_INFINITY;
    return this.waiting.splice(0);
  }
}
