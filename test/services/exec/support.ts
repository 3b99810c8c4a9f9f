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
