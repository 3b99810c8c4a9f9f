import { install } from '@sinonjs/fake-timers';

type InstalledClock = ReturnType<typeof install>;

/**
 * A controllable clock for tests: `Date.now()`, `setTimeout` and `setInterval` follow `advance()`
 * instead of the wall clock, so heartbeats, timeouts, expiries and backoff run in no real time.
 * `setImmediate` and promise jobs stay real, so in-memory sockets keep delivering between steps.
 * Install it before creating servers and clients: timers made earlier keep the real clock.
 *
 * @example
 * const clock = TestClock.install();
 * await clock.advance(45_000); // the server's dead-peer check has run three times
 * clock.uninstall();
 */
export class TestClock {
  private constructor(private readonly clock: InstalledClock) {}

  static install(startAt = Date.now()): TestClock {
    return new TestClock(
      install({
        now: startAt,
        toFake: ['Date', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'],
        shouldClearNativeTimers: true,
      }),
    );
  }

  /** Now, in ms since epoch, on this clock. */
  get now(): number {
    return this.clock.now;
  }

  /**
   * Moves time forward by `ms`, firing every timer due on the way in order, and lets the I/O each
   * one starts (in-memory frames, promise jobs) settle before the next.
   */
  async advance(ms: number): Promise<void> {
    const target = this.clock.now + ms;
    while (this.clock.now < target) {
      // At least 1 ms per step: a timer that re-arms itself at 0 ms cannot stall the advance.
      const next = Math.max(
        1,
        Math.min(target - this.clock.now, this.nextTimerIn() ?? target - this.clock.now),
      );
      await this.clock.tickAsync(next);
      await settle();
    }
    await settle();
  }

  /** Lets in-memory frames and promise jobs run without moving the clock. */
  async settle(): Promise<void> {
    await settle();
  }

  uninstall(): void {
    this.clock.uninstall();
  }

  private nextTimerIn(): number | undefined {
    const timers = (this.clock as unknown as { timers?: Record<string, { callAt: number }> }).timers;
    if (!timers) return undefined;
    let soonest: number | undefined;
    for (const timer of Object.values(timers))
      soonest = soonest === undefined ? timer.callAt : Math.min(soonest, timer.callAt);
    return soonest === undefined ? undefined : Math.max(0, soonest - this.clock.now);
  }
}

/** A few turns of the event loop: enough for in-memory sockets (setImmediate) and their replies. */
async function settle(): Promise<void> {
  for (let turn = 0; turn < 8; turn++) await new Promise<void>((resolve) => setImmediate(resolve));
}
