import type { Redis } from 'ioredis';

/** The message of the error a timed-out Redis operation rejects with (as ioredis words it). */
export const TIMED_OUT = 'Command timed out';

/**
 * When a connection last received anything from Redis, across its reconnections. Redis answers a
 * connection's commands in order, so bytes arriving mean it is working through them.
 */
export function lastHeard(redis: Redis): () => number {
  let last = Date.now();
  const heard = () => {
    last = Date.now();
  };
  redis.on('connect', () => redis.stream?.on('data', heard));
  return () => last;
}

/**
 * Settles like `operation`, or rejects with {@link TIMED_OUT} once Redis has been silent on the
 * connection (`heard`) for `timeoutMs` since the operation began: a stalled Redis fails it, a
 * busy one streaming a large reply does not.
 *
 * Not ioredis's `commandTimeout`: that counts time, not silence, and its timer fires in the event
 * loop's timers phase, before I/O, so a process that was busy past the timeout (CPU starved, a
 * long GC) would fail a command whose reply is already waiting in the socket. Here an expired
 * timer looks again after the loop's I/O phase (`setImmediate`).
 */
export function withTimeout<T>(operation: Promise<T>, timeoutMs: number, heard: () => number): Promise<T> {
  const began = Date.now();
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    let timer: ReturnType<typeof setTimeout>;
    const expire = () =>
      setImmediate(() => {
        if (settled) return;
        const quiet = Date.now() - Math.max(began, heard());
        if (quiet < timeoutMs) {
          timer = setTimeout(expire, timeoutMs - quiet);
          return;
        }
        settled = true;
        reject(new Error(TIMED_OUT));
      });
    timer = setTimeout(expire, timeoutMs);
    operation.then(
      (value) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
