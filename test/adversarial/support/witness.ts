/**
 * A witness: a well-behaved client that calls at a steady pace (every 25 ms) for the whole suite and
 * checks each answer exactly. A call with no answer within 5 s counts as lost.
 */
import type { Witness } from './suite.js';

const PACE_MS = 25;
const ANSWER_WITHIN_MS = 5000;

/**
 * `call(n)` makes the n-th call and throws unless its answer is exact. `close` ends the client.
 * `ready` resolves after the first three answers.
 */
export function pacedWitness(
  name: string,
  call: (n: number) => Promise<void>,
  close: () => unknown,
): Witness {
  const failures: string[] = [];
  let calls = 0;
  let n = 0;
  const running = new Set<Promise<void>>();
  let markReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => {
    markReady = resolve;
  });
  const one = () => {
    const index = ++n;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no answer within ${ANSWER_WITHIN_MS} ms`)),
        ANSWER_WITHIN_MS,
      );
    });
    const done: Promise<void> = Promise.race([call(index), timeout])
      .then(
        () => {
          calls++;
          if (calls === 3) markReady();
        },
        (error: unknown) => {
          failures.push(`${name} call ${index}: ${error instanceof Error ? error.message : String(error)}`);
        },
      )
      .finally(() => {
        clearTimeout(timer);
        running.delete(done);
      });
    running.add(done);
  };
  const interval = setInterval(one, PACE_MS);
  let stopped: Promise<{ calls: number; failures: string[] }> | undefined;
  return {
    ready,
    stop() {
      stopped ??= (async () => {
        clearInterval(interval);
        await Promise.all([...running]);
        await close();
        // The first failures say what went wrong; the rest are usually its consequences.
        const shown =
          failures.length > 10 ? [...failures.slice(0, 10), `… and ${failures.length - 10} more`] : failures;
        return { calls, failures: shown };
      })();
      return stopped;
    },
  };
}

/** Several witnesses as one. */
export function allWitnesses(witnesses: Witness[]): Witness {
  return {
    ready: Promise.all(witnesses.map((w) => w.ready)).then(() => undefined),
    async stop() {
      const results = await Promise.all(witnesses.map((w) => w.stop()));
      return {
        calls: Math.min(...results.map((r) => r.calls)),
        failures: results.flatMap((r) => r.failures),
      };
    },
  };
}
