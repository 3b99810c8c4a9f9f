/**
 * The cancellation state of one running call. An AbortController costs more than the rest of a
 * small call put together (measured: 10% of server CPU in the RPC benchmark), and most handlers
 * never look at their signal, so the controller is only made when `signal` is first read.
 */
export class CallControl {
  private controller: AbortController | undefined;
  private reasonValue: unknown;
  private abortedValue = false;
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

  abort(reason: unknown): void {
    if (this.abortedValue) return;
    this.abortedValue = true;
    this.reasonValue = reason;
    this.controller?.abort(reason);
    const onAbort = this.onAbort;
    this.onAbort = undefined;
    onAbort?.(reason);
  }
}
