/**
 * The child side of an adversarial server process: prints `{"ports":{…}}` on stdout once listening,
 * and answers the test over IPC: `heap` (after `global.gc()`, needs --expose-gc), `polluted`
 * (whether anything reached Object.prototype), and whatever `extra` handles. It exits when the test
 * process goes away, so no server outlives its test.
 */
export type Ask = { readonly id: number; readonly kind: string; readonly data?: unknown };
export type Answer = {
  readonly id: number;
  readonly ok: boolean;
  readonly value?: unknown;
  readonly error?: string;
};

import { monitorEventLoopDelay } from 'node:perf_hooks';

/** The longest the event loop was blocked: a server that stalls fails its witness, and this says why. */
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();

/** The longest stall since the last ask, in ms. */
function takeLag(): number {
  const max = Math.round(loopDelay.max / 1e6);
  loopDelay.reset();
  return max;
}

const gc = (globalThis as { gc?: () => void }).gc;

/** Collects garbage until the heap stops shrinking, then reports `process.memoryUsage()`. */
async function settledHeap(): Promise<NodeJS.MemoryUsage> {
  if (!gc) throw new Error('run the server with --expose-gc');
  let last = Number.POSITIVE_INFINITY;
  for (let round = 0; round < 5; round++) {
    // Let closed sockets and finished promises drop their references before collecting.
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    const used = process.memoryUsage().heapUsed;
    if (used >= last - 64 * 1024) break;
    last = used;
  }
  return process.memoryUsage();
}

export function serveAdversarial(
  ports: Record<string, number>,
  extra: (ask: Ask) => unknown | Promise<unknown> = () => {
    throw new Error('unknown request');
  },
): void {
  process.on('message', async (message: Ask) => {
    let answer: Answer;
    try {
      const value =
        message.kind === 'heap'
          ? await settledHeap()
          : message.kind === 'lag'
            ? takeLag()
            : message.kind === 'polluted'
              ? Object.getOwnPropertyNames(Object.prototype).filter((name) => !BUILTIN_PROTO_KEYS.has(name))
              : await extra(message);
      answer = { id: message.id, ok: true, value };
    } catch (error) {
      answer = { id: message.id, ok: false, error: String(error) };
    }
    process.send?.(answer);
  });
  process.on('disconnect', () => process.exit(0));
  // Module loading stalls the loop too; only what happens once serving counts.
  loopDelay.reset();
  process.stdout.write(`${JSON.stringify({ ports })}\n`);
}

/** Object.prototype's own names in a clean process, to tell pollution from what Node put there. */
const BUILTIN_PROTO_KEYS = new Set(Object.getOwnPropertyNames(Object.prototype));

/** Sends an unsolicited event to the test (e.g. a frame a sandbox-sync Worker applied). */
export function tell(event: unknown): void {
  process.send?.({ event });
}
