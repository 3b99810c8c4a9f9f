import { readFileSync } from 'node:fs';
import { RequestError } from '../../../src/protocol/errors.js';
import { type ExecOptions, exec } from '../../../src/services/exec/index.js';
import type { ExecItem } from '../../../src/services/exec/service.js';
import { LocalInstance } from '../files/service-context.js';

/** An exec instance without a server, with one session attached, whose `run` is called directly. */
export async function start(options: ExecOptions) {
  const service = exec(options);
  const local = await LocalInstance.start(service, 'main');
  const session = await local.attach();
  return {
    local,
    session,
    run(input: { args: string[]; env?: Record<string, string> }, signal?: AbortSignal) {
      return service.handlers.run(input, local.context(session, signal)) as AsyncGenerator<ExecItem>;
    },
  };
}

/** Every item, and the error the stream ended with, if any. */
export async function collect(
  items: AsyncIterable<ExecItem>,
): Promise<{ items: ExecItem[]; error?: RequestError }> {
  const seen: ExecItem[] = [];
  try {
    for await (const item of items) seen.push(item);
  } catch (error) {
    if (error instanceof RequestError) return { items: seen, error };
    throw error;
  }
  return { items: seen };
}

/** stdout and stderr joined, and the exit, whatever the chunking. */
export function joined(items: ExecItem[]) {
  let output = '';
  let error = '';
  for (const item of items.slice(0, -1)) {
    if (item.kind === 'output') output += item.data;
    else if (item.kind === 'error') error += item.data;
    else throw new Error('exit before the last item');
  }
  return { output, error, last: items.at(-1) };
}

/** Whether a process still runs: a zombie waiting for its parent (here PID 1) to reap it has died. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // The state is the field after the parenthesised command name.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** How long a test allows for a kill to land once its grace has passed, on a loaded machine. */
export const SLACK_MS = 5000;

/** When a process started, in clock ticks since boot; undefined once it is gone. */
function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** Processes a test started, with their start times; `killStarted` after each test. */
const tracked: { readonly pid: number; readonly since: string | undefined }[] = [];

/** Kills `pid` after the test whatever happened, so a failing test leaves nothing running. */
export function track(pid: number): void {
  tracked.push({ pid, since: startTime(pid) });
}

/** Kills what `track` noted, if it still runs: the start time tells a reused pid apart. */
export function killStarted(): void {
  for (const { pid, since } of tracked.splice(0)) {
    if (since === undefined || startTime(pid) !== since) continue;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone since the check.
    }
  }
}

/** Reads items until the output names every label (`label 1234` lines); returns their pids. */
export async function pidsOf(items: AsyncGenerator<ExecItem>, labels: readonly string[]): Promise<number[]> {
  let output = '';
  const found = () => labels.map((label) => Number(new RegExp(`^${label} (\\d+)$`, 'm').exec(output)?.[1]));
  while (found().some(Number.isNaN)) {
    const next = await items.next();
    if (next.done || next.value.kind === 'exit') throw new Error(`ended before naming ${labels}: ${output}`);
    output += next.value.data;
  }
  const pids = found();
  for (const pid of pids) track(pid);
  return pids;
}
