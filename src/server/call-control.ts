/**
 * The cancellation state of one running call. An AbortController costs more than the rest of a
 * small call put together (measured: 10% of server CPU in the RPC benchmark), and most handlers
 * never look at their signal, so the controller is only made when `signal` is first read.
 */
export class CallControl {
  private controller: AbortController | undefined;
  private reasonValue: unknown;
  private abortedValue = false;
  /** The channel the call runs on, for a service command. */
  channel: number | undefined;
  /** Items a stream may still send before it must wait for the client's credit (flow control). */
  credits = Number.POSITIVE_INFINITY;
  private creditWaiter: (() => void) | undefined;
  /** Called once, synchronously, when the call is aborted. */
  onAbort: ((reason: unknown) => void) | undefined;

  get aborted(): boolean {
    return this.abortedValue;
  }

  get reason(): unknown {
    return this.reasonValue;
  }

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.abortedValue) this.controller.abort(this.reasonValue);
    }
    return this.controller.signal;
  }

  /** The client consumed `items` more: a stream waiting for credit goes on. */
  grant(items: number): void {
    this.credits += items;
    const waiter = this.creditWaiter;
    this.creditWaiter = undefined;
    waiter?.();
  }

  /** Resolves once there is credit again, or the call is aborted. */
  untilCredit(): Promise<void> {
    if (this.credits > 0 || this.abortedValue) return Promise.resolve();
    return new Promise((resolve) => {
      this.creditWaiter = resolve;
    });
  }

  abort(reason: unknown): void {
    if (this.abortedValue) return;
    this.abortedValue = true;
    this.reasonValue = reason;
    const waiter = this.creditWaiter;
    this.creditWaiter = undefined;
    waiter?.();
    this.controller?.abort(reason);
    const onAbort = this.onAbort;
    this.onAbort = undefined;
    onAbort?.(reason);
  }
}
